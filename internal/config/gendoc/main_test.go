package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestConfigurationDocIsCurrent regenerates docs/configuration.md and
// compares it with the committed file, so a key, default, comment or
// reload tag cannot change without the document.
func TestConfigurationDocIsCurrent(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	want, err := generate(root)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, Output))
	if err != nil {
		t.Fatalf("%v (run `go run ./internal/config/gendoc`)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what the code says: run `go run ./internal/config/gendoc` and commit the result", Output)
	}
}
