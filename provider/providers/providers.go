// Package providers registers every provider hookledger ships. Adding a
// provider means writing its package and adding it here.
package providers

import (
	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/provider/messagemedia"
	"github.com/hookledger/hookledger/provider/signalwire"
	"github.com/hookledger/hookledger/provider/vonage"
)

// All returns a registry of every shipped provider.
func All() *provider.Registry {
	return provider.NewRegistry(messagemedia.New(), signalwire.New(), vonage.New())
}
