package provider

import (
	"fmt"
	"sort"
)

// Registry maps provider names to providers. It is built once at start and
// read-only afterwards.
type Registry struct {
	byName map[string]Provider
}

// NewRegistry registers ps; a duplicate name is a programming error.
func NewRegistry(ps ...Provider) *Registry {
	r := &Registry{byName: make(map[string]Provider, len(ps))}
	for _, p := range ps {
		if _, dup := r.byName[p.Name()]; dup {
			panic(fmt.Sprintf("provider: %q registered twice", p.Name()))
		}
		r.byName[p.Name()] = p
	}
	return r
}

// Get returns the provider called name.
func (r *Registry) Get(name string) (Provider, bool) {
	p, ok := r.byName[name]
	return p, ok
}

// Names lists the registered providers, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.byName))
	for n := range r.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
