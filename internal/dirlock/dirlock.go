// Package dirlock gives one process at a time a directory: hookledger takes
// it on data_dir before opening anything there, so a second instance on
// the same data_dir stops at once instead of replacing the first one's jti
// memory or the embedded engines' files.
//
// The lock is flock(2) on a file named LOCK in the directory. The kernel
// drops it when the holder exits, kill -9 included, so a stale lock never
// needs clearing by hand. It is advisory and per host: it does not protect
// a directory shared over NFS between machines.
package dirlock

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// FileName is the lock file inside the locked directory. It is never
// removed (removing it would let a third process lock a fresh inode while
// the second still holds the old one); after a clean exit it names the
// last holder.
const FileName = "LOCK"

// Lock is a held directory lock.
type Lock struct {
	dir string
	f   *os.File
}

// HeldError is returned by Acquire when another process holds the lock.
type HeldError struct {
	// Dir is the locked directory.
	Dir string
	// Holder is the holder's description from the lock file ("pid=12 host=a
	// started=..."), or "" when it had not written it yet.
	Holder string
}

func (e *HeldError) Error() string {
	holder := e.Holder
	if holder == "" {
		holder = "a process that is still starting"
	}
	return fmt.Sprintf("dirlock: data_dir %s is in use by another hookledger (%s; lock file %s): stop it, or give this one its own data_dir",
		e.Dir, holder, filepath.Join(e.Dir, FileName))
}

// Acquire creates dir if needed and locks it for this process, without
// waiting. It writes nothing in dir but the lock file, and changes nothing
// when the lock is held elsewhere: it returns a *HeldError naming the
// holder. command is recorded for the message of a later contender.
func Acquire(dir, command string) (*Lock, error) {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs // the message names the directory unambiguously
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("dirlock: data_dir: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// No O_TRUNC: the holder's text must survive a contender's open.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("dirlock: %w", err)
	}
	if err := flock(f); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &HeldError{Dir: dir, Holder: holder(f)}
		}
		return nil, fmt.Errorf("dirlock: lock %s: %w", path, err)
	}
	if err := describe(f, command); err != nil {
		f.Close()
		return nil, fmt.Errorf("dirlock: write %s: %w", path, err)
	}
	return &Lock{dir: dir, f: f}, nil
}

func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// describe replaces the lock file's text with this process's description.
func describe(f *os.File, command string) error {
	host, _ := os.Hostname()
	text := fmt.Sprintf("pid=%d host=%s started=%s command=%s\n",
		os.Getpid(), host, time.Now().UTC().Format(time.RFC3339), command)
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(text), 0)
	return err
}

// holder reads the holder's description, bounded: the file is ours, but a
// contender must not trust its size.
func holder(f *os.File) string {
	buf := make([]byte, 512)
	n, _ := f.ReadAt(buf, 0)
	line, _, _ := bytes.Cut(buf[:n], []byte("\n"))
	return strings.TrimSpace(string(line))
}

// Dir is the locked directory.
func (l *Lock) Dir() string { return l.dir }

// Release unlocks the directory. It is safe to call more than once.
func (l *Lock) Release() {
	if l.f != nil {
		_ = l.f.Close() // closing the last descriptor drops the flock
		l.f = nil
	}
}
