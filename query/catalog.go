package query

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/storage"
)

// Catalog is what the API checks filter values against besides the fixed
// vocabularies: the providers this build has (a closed set) and the
// configured sources with their tenants. A config reload swaps in a new one.
//
// A source the config does not list is answered 400, like a provider that
// does not exist, rather than an empty list: a typo is then told apart
// from a quiet source. The price is that a source removed from the config
// can no longer be filtered on (its rows still list, and read by id). The
// rejection audit is the exception (route.auditedSources): it records
// requests to any source id, configured or not.
type Catalog struct {
	providers []string
	sources   map[string]string // source id → tenant
}

// NewCatalog builds a Catalog from the registered provider names and the
// configured sources.
func NewCatalog(providers []string, sources []config.Source) Catalog {
	c := Catalog{providers: slices.Sorted(slices.Values(providers)), sources: make(map[string]string, len(sources))}
	for _, s := range sources {
		c.sources[s.ID] = s.Tenant
	}
	return c
}

// check returns what is wrong with the value v of parameter name for a
// token of scope, or "": a provider, source or tenant must be one the
// catalog knows; other parameters and empty values (no filter) pass.
func (c Catalog) check(scope storage.Scope, name, v string) string {
	switch {
	case v == "":
		return ""
	case name == "provider":
		return c.checkProvider(v)
	case name == "source":
		return c.checkSource(scope, v)
	case name == "tenant":
		return c.checkTenant(scope, v)
	}
	return ""
}

// checkProvider returns what is wrong with provider name p, or "".
func (c Catalog) checkProvider(p string) string {
	if slices.Contains(c.providers, p) {
		return ""
	}
	return fmt.Sprintf("provider %q is not one of: %s", p, strings.Join(c.providers, ", "))
}

// checkSource returns what is wrong with source id src for a token of
// scope, or "": it must be configured for one of the scope's tenants.
// Another tenant's source is as unknown to the token as a typo.
func (c Catalog) checkSource(scope storage.Scope, src string) string {
	if tenant, ok := c.sources[src]; ok && scope.Sees(tenant) {
		return ""
	}
	var visible []string
	for id, tenant := range c.sources {
		if scope.Sees(tenant) {
			visible = append(visible, id)
		}
	}
	slices.Sort(visible)
	return fmt.Sprintf("source %q is not a configured source (configured: %s)", src, listOrNone(visible))
}

// checkTenant returns what is wrong with tenant t for a token of scope, or
// "": one of the token's tenants, or for an all-tenant token one the
// config's sources name.
func (c Catalog) checkTenant(scope storage.Scope, t string) string {
	var known []string
	if scope.All {
		for _, tenant := range c.sources {
			if !slices.Contains(known, tenant) {
				known = append(known, tenant)
			}
		}
	} else {
		known = slices.Clone(scope.Tenants)
	}
	if slices.Contains(known, t) {
		return ""
	}
	slices.Sort(known)
	return fmt.Sprintf("tenant %q is not one of: %s", t, listOrNone(known))
}

func listOrNone(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	return strings.Join(ss, ", ")
}
