// Package query is hookledger's read API (docs/query-api.md): bearer-token
// authentication, tenant scoping, and JSON views over the ClickHouse
// history.
package query

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"slices"
	"strings"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/storage"
)

// Token is one accepted API token: only its SHA-256 is kept in memory.
type Token struct {
	Name   string
	digest [sha256.Size]byte
	scope  storage.Scope
}

// Tokens is an immutable token set; a config reload swaps in a new one.
type Tokens []Token

// BuildTokens converts configured tokens.
func BuildTokens(cfg []config.Token) (Tokens, error) {
	out := make(Tokens, 0, len(cfg))
	for i, t := range cfg {
		d, err := t.Digest()
		if err != nil || len(d) != sha256.Size {
			return nil, fmt.Errorf("query.tokens[%d]: bad token digest", i)
		}
		tok := Token{Name: t.Name}
		copy(tok.digest[:], d)
		if slices.Contains(t.Tenants, "*") {
			tok.scope = storage.Scope{All: true}
		} else {
			tok.scope = storage.Scope{Tenants: slices.Clone(t.Tenants)}
		}
		out = append(out, tok)
	}
	return out, nil
}

// match finds the token for an Authorization header value. Every
// configured token is compared, in constant time, so timing reveals
// neither which token nor how much of one matched.
func (ts Tokens) match(authorization string) (*Token, bool) {
	scheme, presented, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || presented == "" {
		return nil, false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(presented)))
	var found *Token
	for i := range ts {
		if subtle.ConstantTimeCompare(sum[:], ts[i].digest[:]) == 1 {
			found = &ts[i]
		}
	}
	return found, found != nil
}
