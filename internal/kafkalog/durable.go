package kafkalog

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// LogSyncer makes durable what a broker has acknowledged: SyncPartition
// returns nil only once every record the broker appended to topic's
// partition before the call is on disk. The Producer calls it after a
// produce round is acknowledged and before it answers the round's
// publishers.
type LogSyncer interface {
	SyncPartition(ctx context.Context, topic string, partition int) error
}

// SyncStats count the fsync rounds of a DiskSyncer.
type SyncStats struct {
	Rounds  int64 // flushes of one partition, each covering every caller waiting when it started
	Callers int64 // SyncPartition calls answered
	Fsyncs  int64 // fsync(2) calls, files and directories
}

// DiskSyncer is the embedded broker's durability barrier. kfake's own
// SyncWrites fsyncs a partition's segment and index inside its single
// request loop, so every request of every client (fetches and offset
// commits included) waits behind two fsyncs per produced batch. Instead
// the embedded broker writes to the page cache (which already survives a
// crash of this process), and DiskSyncer fsyncs the partition's files
// outside the broker loop, by group commit: a flush takes every caller
// waiting when it starts, so it covers whatever they were answered for.
// Up to maxFlushes flushes of a partition overlap (the kernel merges
// concurrent fsyncs of one file into one journal commit when it can): a
// caller arriving while one is in flight starts the next at once instead
// of waiting for it. The broker meanwhile serves the next produce.
//
// A failed fsync is final: Linux may mark the pages that failed clean and
// report the error only once, so a later fsync's success would not cover
// them. From the first failure on every SyncPartition fails (publishers
// get 503) until the process restarts and the broker rereads its log.
//
// It reads kfake's on-disk layout (dir/partitions/<topic>-<partition>/
// <base>.dat and .idx) of the pinned kfake version; a flush that finds no
// segment file fails, so a layout change is an error, never a silent
// no-op.
type DiskSyncer struct {
	dir    string
	mu     sync.Mutex
	parts  map[topicPartition]*partitionSync
	stats  struct{ rounds, callers, fsyncs atomic.Int64 }
	failed atomic.Pointer[error] // the first fsync failure; sticky
}

var _ LogSyncer = (*DiskSyncer)(nil)

// NewDiskSyncer syncs the partitions of the kfake data directory dir.
func NewDiskSyncer(dir string) *DiskSyncer {
	return &DiskSyncer{dir: dir, parts: map[topicPartition]*partitionSync{}}
}

// Stats reports the flushes so far.
func (s *DiskSyncer) Stats() SyncStats {
	return SyncStats{Rounds: s.stats.rounds.Load(), Callers: s.stats.callers.Load(), Fsyncs: s.stats.fsyncs.Load()}
}

// SyncPartition implements LogSyncer. When ctx ends first it returns ctx's
// error; the flush it joined still runs.
func (s *DiskSyncer) SyncPartition(ctx context.Context, topic string, partition int) error {
	if err := s.failed.Load(); err != nil {
		return *err
	}
	tp := topicPartition{topic, partition}
	s.mu.Lock()
	ps := s.parts[tp]
	if ps == nil {
		ps = &partitionSync{owner: s, dir: filepath.Join(s.dir, "partitions", fmt.Sprintf("%s-%d", url.PathEscape(topic), partition)), files: map[string]*syncedFile{}}
		s.parts[tp] = ps
	}
	s.mu.Unlock()
	return ps.wait(ctx)
}

// Close closes the files kept open for fsync. Call it after the producer
// is closed.
func (s *DiskSyncer) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ps := range s.parts {
		ps.mu.Lock()
		ps.closed = true // no flush starts after this
		ps.mu.Unlock()
		ps.flushing.Wait()
		ps.closeFiles()
	}
}

// partitionSync is the group-commit flush of one partition. Invariant: at
// most maxFlushes flushes run at a time, and a caller is answered by a
// flush that started after it arrived.
type partitionSync struct {
	owner    *DiskSyncer
	dir      string
	mu       sync.Mutex
	flushes  int // in flight, at most maxFlushes
	closed   bool
	next     []chan error
	flushing sync.WaitGroup

	filesMu sync.Mutex
	files   map[string]*syncedFile

	dirMu       sync.Mutex // held while the directory is fsynced; taken after filesMu
	dirKnown    bool       // the directory was fsynced after its newest file was seen
	parentKnown bool       // the entries of the partition directory itself are durable
}

// maxFlushes bounds the overlapping flushes of one partition.
const maxFlushes = 2

type syncedFile struct {
	f    *os.File
	size int64 // bytes known to be on disk
}

func (ps *partitionSync) wait(ctx context.Context) error {
	done := make(chan error, 1)
	ps.mu.Lock()
	if ps.closed {
		ps.mu.Unlock()
		return errors.New("kafkalog: log syncer closed")
	}
	ps.next = append(ps.next, done)
	if ps.flushes < maxFlushes {
		ps.flushes++
		ps.flushing.Add(1)
		go ps.loop()
	}
	ps.mu.Unlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// loop flushes until no caller waits.
func (ps *partitionSync) loop() {
	defer ps.flushing.Done()
	for {
		ps.mu.Lock()
		batch := ps.next
		ps.next = nil
		if len(batch) == 0 {
			ps.flushes--
			ps.mu.Unlock()
			return
		}
		ps.mu.Unlock()
		err := ps.flush()
		ps.owner.stats.rounds.Add(1)
		ps.owner.stats.callers.Add(int64(len(batch)))
		for _, done := range batch {
			done <- err
		}
	}
}

// flush fsyncs every segment and index file of the partition that grew
// since its last fsync (a segment roll leaves the tail of the previous
// segment to sync too), and the directory when a file is new.
func (ps *partitionSync) flush() error {
	grown, sizes, err := ps.grownFiles()
	if err != nil {
		return err
	}
	if err := ps.fsyncAll(grown); err != nil {
		return err
	}
	ps.filesMu.Lock()
	for i, sf := range grown {
		sf.size = max(sf.size, sizes[i])
	}
	ps.filesMu.Unlock()
	return ps.syncDir()
}

// grownFiles lists the partition's files whose size is past what is known
// to be on disk, with the sizes seen (everything up to them was written
// before this flush began).
func (ps *partitionSync) grownFiles() (grown []*syncedFile, sizes []int64, err error) {
	ps.filesMu.Lock()
	defer ps.filesMu.Unlock()
	entries, err := os.ReadDir(ps.dir)
	if err != nil {
		return nil, nil, fmt.Errorf("kafkalog: sync log %s: %w", ps.dir, err)
	}
	active, ok := activeSegment(entries)
	if !ok {
		return nil, nil, fmt.Errorf("kafkalog: sync log %s: no segment (.dat) file: the embedded broker's layout is not the one this build knows", ps.dir)
	}
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		name := e.Name()
		base, isLog := segmentBase(name)
		if !isLog {
			continue
		}
		seen[name] = true
		info, err := e.Info()
		if err != nil {
			return nil, nil, fmt.Errorf("kafkalog: sync log %s: %w", ps.dir, err)
		}
		sf := ps.files[name]
		if sf == nil {
			f, err := os.Open(filepath.Join(ps.dir, name))
			if err != nil {
				return nil, nil, fmt.Errorf("kafkalog: sync log: %w", err)
			}
			sf = &syncedFile{f: f, size: -1}
			ps.files[name] = sf
			ps.dirMu.Lock()
			ps.dirKnown = false
			ps.dirMu.Unlock()
		}
		// The active segment and index are fsynced on every flush: a size
		// seen before is no proof (kfake truncates a failed write away,
		// and the next batch can bring the file back to that size).
		if info.Size() != sf.size || base == active {
			grown = append(grown, sf)
			sizes = append(sizes, info.Size())
		}
	}
	ps.forget(seen)
	return grown, sizes, nil
}

// segmentBase parses a kfake segment or index file name (<base>.dat,
// <base>.idx).
func segmentBase(name string) (base int64, ok bool) {
	stem, isDat := strings.CutSuffix(name, ".dat")
	if !isDat {
		var isIdx bool
		if stem, isIdx = strings.CutSuffix(name, ".idx"); !isIdx {
			return 0, false
		}
	}
	base, err := strconv.ParseInt(stem, 10, 64)
	return base, err == nil
}

// activeSegment is the base offset of the newest segment (the one kfake
// appends to), and false when there is no segment file.
func activeSegment(entries []os.DirEntry) (int64, bool) {
	active, found := int64(-1), false
	for _, e := range entries {
		if base, ok := segmentBase(e.Name()); ok && strings.HasSuffix(e.Name(), ".dat") && base >= active {
			active, found = base, true
		}
	}
	return active, found
}

// fsyncAll fsyncs files concurrently: a segment and its index flush in
// about the time of one.
func (ps *partitionSync) fsyncAll(files []*syncedFile) error {
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, sf := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = sf.f.Sync()
		}()
	}
	wg.Wait()
	ps.owner.stats.fsyncs.Add(int64(len(files)))
	if err := errors.Join(errs...); err != nil {
		err = fmt.Errorf("kafkalog: sync log %s: fsync failed; nothing more is acknowledged until a restart: %w", ps.dir, err)
		ps.owner.failed.CompareAndSwap(nil, &err)
		return err
	}
	return nil
}

// syncDir makes new files' directory entries durable. A flush that
// finds the directory unsynced fsyncs it itself, or waits under dirMu for
// the flush doing so.
//
// The first flush of a partition also fsyncs the directories above it
// (partitions/ and the data directory), which hold the entry of a
// partition directory kfake just created.
func (ps *partitionSync) syncDir() error {
	ps.dirMu.Lock()
	defer ps.dirMu.Unlock()
	if !ps.parentKnown {
		parent := filepath.Dir(ps.dir)
		for _, dir := range []string{parent, filepath.Dir(parent)} {
			if err := ps.fsyncDir(dir); err != nil {
				return err
			}
		}
		ps.parentKnown = true
	}
	if ps.dirKnown {
		return nil
	}
	if err := ps.fsyncDir(ps.dir); err != nil {
		return err
	}
	ps.dirKnown = true
	return nil
}

func (ps *partitionSync) fsyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("kafkalog: sync log dir: %w", err)
	}
	defer d.Close()
	ps.owner.stats.fsyncs.Add(1)
	if err := d.Sync(); err != nil {
		return fmt.Errorf("kafkalog: sync log dir %s: %w", dir, err)
	}
	return nil
}

// forget closes the files retention deleted.
func (ps *partitionSync) forget(seen map[string]bool) {
	for name, sf := range ps.files {
		if !seen[name] {
			sf.f.Close()
			delete(ps.files, name)
		}
	}
}

func (ps *partitionSync) closeFiles() {
	ps.filesMu.Lock()
	defer ps.filesMu.Unlock()
	for name, sf := range ps.files {
		sf.f.Close()
		delete(ps.files, name)
	}
}
