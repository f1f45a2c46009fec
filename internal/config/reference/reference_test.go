package reference

import (
	"path/filepath"
	"testing"
)

// TestConfigurationDocIsCurrent regenerates docs/configuration.md and
// compares it with the committed file, so a key, default, comment or
// reload tag cannot change without the document.
func TestConfigurationDocIsCurrent(t *testing.T) {
	if err := Check(filepath.Join("..", "..", "..")); err != nil {
		t.Error(err)
	}
}
