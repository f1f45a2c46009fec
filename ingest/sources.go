// Package ingest is hookledger's webhook front door (docs/ingest.md): it reads each
// callback once, byte-exact and bounded, rebuilds the URL the provider
// signed, has the source's provider verify it, appends it to Kafka, and
// answers only once Kafka has it. Rejections are answered at once and
// audited asynchronously under a rate limit.
package ingest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/provider"
)

// Source is one configured webhook endpoint, ready to verify requests.
type Source struct {
	ID        string
	Tenant    string
	PublicURL string // optional; stands for /hooks/{id}
	Provider  provider.Provider
	Verifier  provider.Verifier
}

// Sources is an immutable set of sources keyed by id. A config reload
// builds a new set and swaps it in whole.
type Sources map[string]*Source

// BuildSources validates every source's provider block and builds its
// verifier. The error names every offending field, not just the first.
func BuildSources(cfgs []config.Source, reg *provider.Registry, deps provider.Deps) (Sources, error) {
	out := make(Sources, len(cfgs))
	var errs []error
	for i, c := range cfgs {
		p, ok := reg.Get(c.Provider)
		if !ok {
			errs = append(errs, &config.FieldError{
				Field: fmt.Sprintf("sources[%d].provider", i),
				Err:   fmt.Errorf("unknown provider %q (known: %s)", c.Provider, strings.Join(reg.Names(), ", ")),
			})
			continue
		}
		v, err := p.NewVerifier(provider.Source{ID: c.ID, Tenant: c.Tenant, Decode: c.DecodeSettings}, deps)
		if err != nil {
			errs = append(errs, c.SettingsError(err))
			continue
		}
		out[c.ID] = &Source{
			ID: c.ID, Tenant: c.Tenant, PublicURL: c.PublicURL,
			Provider: p, Verifier: v,
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
