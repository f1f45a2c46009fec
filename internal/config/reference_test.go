package config_test

import (
	"testing"

	"github.com/hookledger/hookledger/internal/config/reference"
)

// TestConfigurationDocIsCurrent fails when a key, its doc comment, default
// or tags changed without `go run ./internal/config/gendoc`.
func TestConfigurationDocIsCurrent(t *testing.T) {
	if err := reference.Check("../.."); err != nil {
		t.Error(err)
	}
}
