package query

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hookledger/hookledger/schema"
	"github.com/hookledger/hookledger/storage"
)

const (
	defaultLimit = 100
	maxLimit     = 1000
)

// badRequest is a client error in a query parameter.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

// parsePage reads limit, since, until and cursor.
func parsePage(c echo.Context) (storage.Page, error) {
	p := storage.Page{Limit: defaultLimit}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return p, &badRequest{fmt.Sprintf("limit must be an integer from 1 to %d", maxLimit)}
		}
		p.Limit = n
	}
	var err error
	if p.Since, err = parseTime(c, "since"); err != nil {
		return p, err
	}
	if p.Until, err = parseTime(c, "until"); err != nil {
		return p, err
	}
	if p.After, err = storage.DecodeCursor(c.QueryParam("cursor")); err != nil {
		return p, &badRequest{"cursor is not one this API returned"}
	}
	return p, nil
}

func parseTime(c echo.Context, name string) (time.Time, error) {
	v := c.QueryParam(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, &badRequest{name + " must be an RFC 3339 time such as 2026-01-02T15:04:05Z"}
	}
	return t.UTC(), nil
}

// list answers the common list envelope.
func list[T any](c echo.Context, items []T, next *storage.Cursor) error {
	if items == nil {
		items = []T{}
	}
	cursor := ""
	if next != nil {
		cursor = next.Encode()
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items, "next_cursor": cursor})
}

func (s *Server) listRejections(c echo.Context) error {
	p, err := parsePage(c)
	if err != nil {
		return s.readError(c, err, "rejections")
	}
	f := storage.RejectionFilter{Source: c.QueryParam("source"), Reason: c.QueryParam("reason")}
	if f.Reason != "" && !schema.Reason(f.Reason).Valid() {
		return s.readError(c, &badRequest{"reason must be one of the rejection reasons"}, "rejections")
	}
	items, next, err := s.store.Rejections(c.Request().Context(), scopeOf(c), f, p)
	if err != nil {
		return s.readError(c, err, "rejections")
	}
	return list(c, items, next)
}

func isBadRequest(err error) (string, bool) {
	var br *badRequest
	if errors.As(err, &br) {
		return br.msg, true
	}
	return "", false
}
