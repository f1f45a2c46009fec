package storage

import (
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
