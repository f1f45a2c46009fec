package kafkalog

// PartitionLag is how many records of one partition a consumer group has
// not committed yet: the log end minus the committed offset, or minus the
// log start while the group has committed nothing there.
type PartitionLag struct {
	Topic     string
	Group     string
	Partition int
	Lag       int64
}

// lag is the records between the group's position and the log end; never
// negative (a committed offset past the end is damage, reported apart).
func (s partitionState) lag() int64 {
	from := s.committed
	if from < 0 || from < s.start {
		from = s.start
	}
	return max(s.end-from, 0)
}
