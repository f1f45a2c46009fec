package storage

import (
	"strconv"
	"time"
)

// Cursor is the position after the last item of a page in a list ordered
// newest first by (time, id). The query API hands its JSON form to clients
// inside an opaque token.
type Cursor struct {
	At time.Time `json:"t"`
	ID string    `json:"i"`
	// Key is a secondary key for lists whose items are not unique by ID
	// alone (a message id is unique per provider).
	Key string `json:"k,omitempty"`
	// Tenant completes the position in lists whose rows are unique only
	// per tenant (the same provider id seen by two tenants' sources).
	Tenant string `json:"n,omitempty"`
}

// Page sizes (docs/query-api.md#lists-and-pagination): a Page that names no limit gets DefaultLimit, and
// no page holds more than MaxLimit items.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Page is the common list request.
type Page struct {
	// Since (inclusive) and Until (exclusive) bound the list's time; nil
	// leaves that side open. A given time is always a bound, however far
	// off, the zero time.Time included (see timeRange).
	Since, Until *time.Time
	Limit        int // items per page; <= 0 means DefaultLimit, capped at MaxLimit
	After        *Cursor
}

// size is the number of items the page holds.
func (p Page) size() int {
	switch {
	case p.Limit <= 0:
		return DefaultLimit
	case p.Limit > MaxLimit:
		return MaxLimit
	}
	return p.Limit
}

// fetchLimit is the LIMIT a list query uses: one row more than the page
// holds, so that a full page knows whether another one follows.
func (p Page) fetchLimit() string { return " LIMIT " + strconv.Itoa(p.size()+1) }

// cutPage trims rows fetched with fetchLimit to the page and returns the
// cursor after its last item, or nil when rows held everything left.
func cutPage[T any](rows []T, p Page, position func(T) Cursor) ([]T, *Cursor) {
	if len(rows) <= p.size() {
		return rows, nil
	}
	rows = rows[:p.size()]
	next := position(rows[len(rows)-1])
	return rows, &next
}
