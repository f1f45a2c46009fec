package providers

import "testing"

func TestEverySettings(t *testing.T) {
	for _, name := range All().Names() {
		if s, ok := Settings(name); !ok || s == nil {
			t.Errorf("provider %q has no Settings: config check and docs/configuration.md would leave its block out", name)
		}
	}
	if _, ok := Settings("nonesuch"); ok {
		t.Error(`Settings("nonesuch") found a provider`)
	}
}
