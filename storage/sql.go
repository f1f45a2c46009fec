package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// quote renders s as a ClickHouse string literal. Every value that comes
// from a request goes through it; identifiers never come from requests.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

func quoteList(ss []string) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = quote(s)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// timeLiteral renders t as a DateTime64(3, 'UTC') literal.
func timeLiteral(t time.Time) string {
	return "fromUnixTimestamp64Milli(toInt64(" + strconv.FormatInt(t.UnixMilli(), 10) + "), 'UTC')"
}

// where accumulates AND-ed conditions.
type where []string

func (w *where) add(cond string) { *w = append(*w, cond) }

func (w where) String() string {
	if len(w) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w, " AND ")
}

// newestFirst pages a newest-first list over the keyset (timeColumn,
// provider, idColumn, tenant): it bounds w to p's [Since, Until) on
// timeColumn and, for a later page, to the rows whose keyset tuple sorts
// strictly before p's cursor, so a page continues exactly where the
// previous one stopped, equal timestamps included. It returns the ORDER BY
// and LIMIT clause of that same keyset: one place spells the columns for
// both, so the condition and the order cannot drift apart.
func newestFirst(w *where, p Page, timeColumn, idColumn string) string {
	timeRange(w, timeColumn, p.Since, p.Until)
	if c := p.After; c != nil {
		w.add("(" + timeColumn + ", provider, " + idColumn + ", tenant) < (" +
			timeLiteral(c.At) + ", " + quote(c.Key) + ", " + quote(c.ID) + ", " + quote(c.Tenant) + ")")
	}
	return " ORDER BY " + timeColumn + " DESC, provider DESC, " + idColumn + " DESC, tenant DESC" + p.fetchLimit()
}

// selectAll runs q and decodes every row into a T.
func selectAll[T any](ctx context.Context, conn Conn, q string) ([]T, error) {
	var out []T
	err := conn.Select(ctx, q, func(row []byte) error {
		var v T
		if err := json.Unmarshal(row, &v); err != nil {
			return fmt.Errorf("decode row: %w", err)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}
