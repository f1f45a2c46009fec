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

// badRequest is a client error in a query parameter.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

// parsePage reads limit, since, until and cursor.
func parsePage(c echo.Context) (storage.Page, error) {
	p := storage.Page{Limit: storage.DefaultLimit}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > storage.MaxLimit {
			return p, &badRequest{fmt.Sprintf("limit must be an integer from 1 to %d", storage.MaxLimit)}
		}
		p.Limit = n
	}
	var err error
	if p.Since, p.Until, err = parseRange(c); err != nil {
		return p, err
	}
	if p.After, err = decodeCursor(c); err != nil {
		return p, err
	}
	return p, nil
}

// parseRange reads since (inclusive) and until (exclusive); either may be
// absent (nil), but when both are given the range must not be empty.
func parseRange(c echo.Context) (since, until *time.Time, err error) {
	if since, err = parseTime(c, "since"); err != nil {
		return nil, nil, err
	}
	if until, err = parseTime(c, "until"); err != nil {
		return nil, nil, err
	}
	if since != nil && until != nil && !until.After(*since) {
		return nil, nil, &badRequest{"until must be later than since"}
	}
	return since, until, nil
}

// parseTime reads an RFC 3339 time; nil when the parameter is absent. Any
// time it parses is a bound, the zero time included.
func parseTime(c echo.Context, name string) (*time.Time, error) {
	v := c.QueryParam(name)
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nil, &badRequest{name + " must be an RFC 3339 time such as 2026-01-02T15:04:05Z"}
	}
	t = t.UTC()
	return &t, nil
}

// list answers the common list envelope.
func list[T any](c echo.Context, items []T, next *storage.Cursor) error {
	if items == nil {
		items = []T{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items, "next_cursor": encodeCursor(c, next)})
}

func (s *Server) listRejections(c echo.Context) error {
	p, err := parsePage(c)
	if err != nil {
		return s.readError(c, err, "rejections")
	}
	f := storage.RejectionFilter{Source: c.QueryParam("source"), Reason: c.QueryParam("reason")}
	if f.Reason != "" && !schema.Reason(f.Reason).Valid() {
		return s.readError(c, oneOf("reason", schema.Reasons), "rejections")
	}
	items, next, err := s.store.Rejections(c.Request().Context(), listScope(c), f, p)
	if err != nil {
		return s.readError(c, err, "rejections")
	}
	return list(c, items, next)
}

// listCallbacks answers /v1/callbacks: stored raw requests of either
// verdict, newest first by receive time, for a live view of what arrives.
func (s *Server) listCallbacks(c echo.Context) error {
	p, err := parsePage(c)
	if err != nil {
		return s.readError(c, err, "callbacks")
	}
	f := storage.CallbackFilter{Source: c.QueryParam("source"), Verdict: c.QueryParam("verdict"), Reason: c.QueryParam("reason")}
	if f.Verdict != "" && f.Verdict != string(schema.VerdictAccepted) && f.Verdict != string(schema.VerdictRejected) {
		return s.readError(c, oneOf("verdict", []schema.Verdict{schema.VerdictAccepted, schema.VerdictRejected}), "callbacks")
	}
	if f.Reason != "" && !schema.Reason(f.Reason).Valid() {
		return s.readError(c, oneOf("reason", schema.Reasons), "callbacks")
	}
	items, next, err := s.store.ListCallbacks(c.Request().Context(), listScope(c), f, p)
	if err != nil {
		return s.readError(c, err, "callbacks")
	}
	return list(c, items, next)
}

func (s *Server) listMessages(c echo.Context) error {
	p, err := parsePage(c)
	if err != nil {
		return s.readError(c, err, "messages")
	}
	f := storage.MessageFilter{
		Status: c.QueryParam("status"), Provider: c.QueryParam("provider"), Source: c.QueryParam("source"),
		To: c.QueryParam("to"), From: c.QueryParam("from"),
	}
	if _, known := schema.MessageStatusRank(f.Status); f.Status != "" && !known {
		return s.readError(c, oneOf("status", storage.MessageStatuses()), "messages")
	}
	items, next, err := s.store.ListMessages(c.Request().Context(), listScope(c), f, p)
	if err != nil {
		return s.readError(c, err, "messages")
	}
	return list(c, items, next)
}

func (s *Server) listCalls(c echo.Context) error {
	p, err := parsePage(c)
	if err != nil {
		return s.readError(c, err, "calls")
	}
	f := storage.CallFilter{
		Status: c.QueryParam("status"), Provider: c.QueryParam("provider"), Source: c.QueryParam("source"),
		To: c.QueryParam("to"), From: c.QueryParam("from"),
	}
	if _, known := schema.CallStatusRank(f.Status); f.Status != "" && !known {
		return s.readError(c, oneOf("status", storage.CallStatuses()), "calls")
	}
	items, next, err := s.store.ListCalls(c.Request().Context(), listScope(c), f, p)
	if err != nil {
		return s.readError(c, err, "calls")
	}
	return list(c, items, next)
}

func (s *Server) listReplies(c echo.Context) error {
	p, err := parsePage(c)
	if err != nil {
		return s.readError(c, err, "replies")
	}
	f := storage.ReplyFilter{MessageID: c.QueryParam("message_id"), From: c.QueryParam("from"), To: c.QueryParam("to")}
	items, next, err := s.store.Replies(c.Request().Context(), listScope(c), f, p)
	if err != nil {
		return s.readError(c, err, "replies")
	}
	return list(c, items, next)
}

// messageStats answers /v1/stats/messages. Defaults: interval=hour,
// group_by=provider, and no time bound (like lists without since). Only
// buckets holding at least one message are listed, oldest first.
func (s *Server) messageStats(c echo.Context) error {
	q := storage.StatsQuery{Interval: storage.IntervalHour, GroupBy: storage.GroupByProvider}
	var err error
	if q.Since, q.Until, err = parseRange(c); err != nil {
		return s.readError(c, err, "stats")
	}
	switch v := storage.StatsInterval(c.QueryParam("interval")); v {
	case "":
	case storage.IntervalHour, storage.IntervalDay:
		q.Interval = v
	default:
		return s.readError(c, oneOf("interval", []storage.StatsInterval{storage.IntervalHour, storage.IntervalDay}), "stats")
	}
	switch v := storage.StatsGroup(c.QueryParam("group_by")); v {
	case "":
	case storage.GroupByProvider, storage.GroupBySource:
		q.GroupBy = v
	default:
		return s.readError(c, oneOf("group_by", []storage.StatsGroup{storage.GroupByProvider, storage.GroupBySource}), "stats")
	}
	buckets, err := s.store.MessageStats(c.Request().Context(), listScope(c), q)
	if err != nil {
		return s.readError(c, err, "stats")
	}
	if buckets == nil {
		buckets = []storage.StatsBucket{}
	}
	return c.JSON(http.StatusOK, map[string]any{"buckets": buckets})
}

func isBadRequest(err error) (string, bool) {
	var br *badRequest
	if errors.As(err, &br) {
		return br.msg, true
	}
	return "", false
}
