package connlimit

// Bounds of the automatic limits.
const (
	// autoMaxCap bounds an automatic max_connections: past it idle
	// connections cost more memory (two buffers and a goroutine each) than
	// they are worth, whatever the descriptor limit.
	autoMaxCap = 8192
	// autoMaxFloor keeps a listener usable under a tiny descriptor limit.
	autoMaxFloor = 64
	// autoPerAddrShare: one client address may hold 1/autoPerAddrShare of
	// a listener's connections.
	autoPerAddrShare = 8
	autoPerAddrFloor = 16
)

// Reserve is how many of fileLimit descriptors are kept out of the HTTP
// listeners' reach for the storage engines, Kafka connections and log
// files: a quarter, at least 2048, but never more than half.
func Reserve(fileLimit int) int {
	return min(fileLimit/2, max(fileLimit/4, 2048))
}

// AutoMax is the automatic max_connections of each of listeners listeners
// of a process allowed fileLimit open files: what the reserve leaves,
// shared evenly, within [64, 8192]. A fileLimit of 0 (unknown) gives the cap.
func AutoMax(fileLimit, listeners int) int {
	if fileLimit <= 0 {
		return autoMaxCap
	}
	return min(max((fileLimit-Reserve(fileLimit))/max(listeners, 1), autoMaxFloor), autoMaxCap)
}

// AutoPerAddr is the automatic max_connections_per_address for a listener
// allowed limit connections.
func AutoPerAddr(limit int) int {
	return min(limit, max(limit/autoPerAddrShare, autoPerAddrFloor))
}
