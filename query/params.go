package query

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/hookledger/hookledger/schema"
)

// Input bounds. Every id the store keeps is at most schema.MaxIDBytes
// (schema.Normalised.CheckIdentity), so a longer value cannot match
// anything; bounding values also keeps every query far below ClickHouse's
// max_query_size (256 KiB), past which the engine refused the SQL and the
// request was answered 500.
const (
	maxValueBytes = schema.MaxIDBytes
	// maxCursorBytes is well above any cursor the API issues (its ids are
	// at most schema.MaxDedupKeyBytes before JSON and base64), and small
	// enough that a decoded cursor's literals stay far below max_query_size.
	maxCursorBytes = 64 << 10
)

// route is one endpoint under /v1.
type route struct {
	path   string
	idName string   // what the path's :id names in errors ("message id"); "" without one
	params []string // the query parameters it takes; any other is a 400
	handle echo.HandlerFunc
	// auditedSources lets an all-tenant token filter on any source: the
	// audit keeps requests to unconfigured sources (unknown_source) under
	// the id they asked for, and those rows are only visible to such
	// tokens.
	auditedSources bool
}

// paged adds the parameters every list takes.
func paged(filters ...string) []string {
	return append(filters, "since", "until", "limit", "cursor")
}

// checkInput is route middleware that answers 400, naming the parameter,
// before anything reaches the store, for: a query parameter r does not
// take or one given twice; a value or path id longer than the bounds above
// or not valid UTF-8 (stored ids always are); a provider this build does
// not have; a source or tenant the config does not give the token (see
// route.auditedSources for the one exception). Handlers
// then read the path id exactly as the client sent it, percent-decoded
// once (Echo leaves it encoded when the path holds an escape such as %2F).
func (s *Server) checkInput(r route) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if r.idName != "" {
				id, err := pathID(c)
				if err != nil {
					return badInput(c, r.idName+" is not a valid percent-encoded path segment")
				}
				if msg := checkValue(r.idName, id, maxValueBytes); msg != "" {
					return badInput(c, msg)
				}
				c.SetParamValues(id)
			}
			if msg := s.checkQuery(c, r); msg != "" {
				return badInput(c, msg)
			}
			return next(c)
		}
	}
}

// checkQuery returns what is wrong with c's query parameters for r, or "".
// Names are checked in sorted order, so the answer does not vary.
func (s *Server) checkQuery(c echo.Context, r route) string {
	query := c.QueryParams()
	names := slices.Sorted(maps.Keys(query))
	catalog := s.catalog.Load()
	for _, name := range names {
		values := query[name]
		switch {
		case !slices.Contains(r.params, name):
			return fmt.Sprintf("unknown parameter %q: /v1%s takes %s", name, r.path, listOrNone(r.params))
		case len(values) > 1:
			return fmt.Sprintf("%s is given %d times; give it once", name, len(values))
		}
		v := values[0]
		limit := maxValueBytes
		if name == "cursor" {
			limit = maxCursorBytes
		}
		if msg := checkValue(name, v, limit); msg != "" {
			return msg
		}
		if name == "source" && r.auditedSources && scopeOf(c).All {
			continue
		}
		if msg := catalog.check(scopeOf(c), name, v); msg != "" {
			return msg
		}
	}
	return ""
}

// pathID returns the route's only path parameter, percent-decoded. Echo
// routes on the request's RawPath when it has one (the client encoded a
// byte that need not be) and then hands the parameter over still encoded;
// otherwise it is already decoded.
func pathID(c echo.Context) (string, error) {
	id := c.Param("id")
	if c.Request().URL.RawPath == "" {
		return id, nil
	}
	return url.PathUnescape(id)
}

// checkValue returns what is wrong with parameter name's value v, or "".
func checkValue(name, v string, limit int) string {
	switch {
	case len(v) > limit:
		return fmt.Sprintf("%s is longer than %d bytes", name, limit)
	case !utf8.ValidString(v):
		return name + " is not valid UTF-8"
	}
	return ""
}

// oneOf is the error for a value outside a closed set.
func oneOf[T ~string](name string, valid []T) *badRequest {
	names := make([]string, len(valid))
	for i, v := range valid {
		names[i] = string(v)
	}
	return &badRequest{name + " must be one of: " + strings.Join(names, ", ")}
}

func badInput(c echo.Context, msg string) error {
	return c.JSON(http.StatusBadRequest, errorBody(msg))
}
