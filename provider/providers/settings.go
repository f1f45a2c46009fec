package providers

import (
	"github.com/hookledger/hookledger/provider/messagemedia"
	"github.com/hookledger/hookledger/provider/signalwire"
	"github.com/hookledger/hookledger/provider/vonage"
)

// Settings returns a fresh settings value of the provider called name (a
// pointer, to decode a source's block into), holding the defaults an
// omitted key takes. `hookledger config check` prints blocks through it
// and docs/configuration.md is generated from these types; every provider
// All registers has one (TestEverySettings).
func Settings(name string) (any, bool) {
	switch name {
	case messagemedia.Name:
		s := messagemedia.DefaultSettings()
		return &s, true
	case signalwire.Name:
		return &signalwire.Settings{}, true
	case vonage.Name:
		s := vonage.DefaultSettings()
		return &s, true
	}
	return nil, false
}
