package query

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"maps"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/hookledger/hookledger/storage"
)

// cursorToken is next_cursor's content: the store's position and the list
// it belongs to.
type cursorToken struct {
	Position storage.Cursor `json:"p"`
	List     string         `json:"l"` // listOf the request that issued it
}

// listOf identifies the list a request reads: its route and every filter
// (the query but cursor and limit, with empty values dropped, since they
// filter nothing), as a digest. A cursor continues only the list it came
// from; limit may change between pages.
func listOf(c echo.Context) string {
	h := sha256.New()
	h.Write([]byte(c.Path()))
	query := c.QueryParams()
	for _, name := range slices.Sorted(maps.Keys(query)) {
		if name == "cursor" || name == "limit" || query.Get(name) == "" {
			continue
		}
		// Length-prefixed, so no name or value can pass for another.
		for _, s := range []string{name, query.Get(name)} {
			h.Write([]byte(strconv.Itoa(len(s)) + ":" + s))
		}
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16])
}

// encodeCursor renders next as the request's next_cursor ("" at the end).
func encodeCursor(c echo.Context, next *storage.Cursor) string {
	if next == nil {
		return ""
	}
	b, err := json.Marshal(cursorToken{Position: *next, List: listOf(c)})
	if err != nil {
		panic(err) // strings and a time: always encodable
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads the request's cursor parameter: nil for the first
// page, a 400 for a token this API did not issue or issued for another
// list.
func decodeCursor(c echo.Context) (*storage.Cursor, error) {
	s := c.QueryParam("cursor")
	if s == "" {
		return nil, nil
	}
	var tok cursorToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &tok) != nil || tok.Position.At.IsZero() {
		return nil, &badRequest{"cursor is not one this API returned"}
	}
	if tok.List != listOf(c) {
		return nil, &badRequest{"cursor belongs to another list or other filters: repeat the request that returned it, changing only limit"}
	}
	return &tok.Position, nil
}
