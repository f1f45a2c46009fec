package dirlock

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecondAcquireNamesTheHolderAndChangesNothing: in one process two
// opens of the lock file are two open file descriptions, so flock refuses
// the second exactly as it refuses another process.
func TestSecondAcquireNamesTheHolderAndChangesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first, err := Acquire(dir, "run")
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("pid=%d ", os.Getpid()); !strings.HasPrefix(string(before), want) || !strings.Contains(string(before), "command=run") {
		t.Fatalf("lock file %q, want it to start with %q and name the command", before, want)
	}

	_, err = Acquire(dir, "migrate")
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second Acquire: %v, want *HeldError", err)
	}
	for _, want := range []string{dir, fmt.Sprintf("pid=%d", os.Getpid()), "command=run"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	after, _ := os.ReadFile(filepath.Join(dir, FileName))
	if string(after) != string(before) {
		t.Fatalf("refused Acquire rewrote the lock file: %q, was %q", after, before)
	}

	first.Release()
	first.Release()
	again, err := Acquire(dir, "replay")
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	again.Release()
}

// TestLockOfAKilledProcessIsFree: the lock belongs to a live process; after
// kill -9 of the holder the directory is free without any clean-up.
func TestLockOfAKilledProcessIsFree(t *testing.T) {
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^TestLockOfAKilledProcessIsFree$")
	child.Env = append(os.Environ(), "DIRLOCK_HOLD="+dir)
	if _, err := child.StdinPipe(); err != nil { // open until the kill
		t.Fatal(err)
	}
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		t.Fatalf("child: %q, %v", line, err)
	}

	_, err = Acquire(dir, "run")
	if want := fmt.Sprintf("pid=%d", child.Process.Pid); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Acquire while the child holds it: %v, want an error naming %s", err, want)
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	l, err := Acquire(dir, "run")
	if err != nil {
		t.Fatalf("Acquire after kill -9 of the holder: %v", err)
	}
	l.Release()
}

func TestMain(m *testing.M) {
	if dir := os.Getenv("DIRLOCK_HOLD"); dir != "" {
		holdAndWait(dir)
	}
	os.Exit(m.Run())
}

// holdAndWait is the child of TestLockOfAKilledProcessIsFree: it locks dir,
// says so and holds it until killed (or its stdin closes).
func holdAndWait(dir string) {
	if _, err := Acquire(dir, "run"); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}
