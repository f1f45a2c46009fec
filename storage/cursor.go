package storage

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"
)

// Cursor is the position after the last item of a page in a list ordered
// newest first by (time, id). It is opaque to clients.
type Cursor struct {
	At time.Time `json:"t"`
	ID string    `json:"i"`
	// Key is a secondary key for lists whose items are not unique by ID
	// alone (a message id is unique per provider).
	Key string `json:"k,omitempty"`
}

// ErrBadCursor is returned for a cursor this API did not produce.
var ErrBadCursor = errors.New("storage: invalid cursor")

// Encode renders c for next_cursor.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor parses a next_cursor value; "" is the first page.
func DecodeCursor(s string) (*Cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, ErrBadCursor
	}
	var c Cursor
	if err := json.Unmarshal(b, &c); err != nil || c.At.IsZero() {
		return nil, ErrBadCursor
	}
	return &c, nil
}

// Page is the common list request.
type Page struct {
	Since, Until time.Time // zero = unbounded; Since inclusive, Until exclusive
	Limit        int
	After        *Cursor
}
