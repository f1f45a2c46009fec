package query

import (
	"fmt"
	"net/http"
	"net/url"
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

// checkInput is route middleware that answers 400, naming the parameter,
// for a query parameter or path id longer than the bounds above or not
// valid UTF-8 (stored ids always are), before anything reaches the store.
// idName names the route's :id in messages ("message id"); "" when the
// route has none. Handlers then read the path id exactly as the client
// sent it, percent-decoded once (Echo leaves it encoded when the path
// holds an escape such as %2F or %3A).
func checkInput(idName string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if idName != "" {
				id, err := pathID(c)
				if err != nil {
					return badInput(c, idName+" is not a valid percent-encoded path segment")
				}
				if msg := checkValue(idName, id, maxValueBytes); msg != "" {
					return badInput(c, msg)
				}
				c.SetParamValues(id)
			}
			for name, values := range c.QueryParams() {
				limit := maxValueBytes
				if name == "cursor" {
					limit = maxCursorBytes
				}
				for _, v := range values {
					if msg := checkValue(name, v, limit); msg != "" {
						return badInput(c, msg)
					}
				}
			}
			return next(c)
		}
	}
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

func badInput(c echo.Context, msg string) error {
	return c.JSON(http.StatusBadRequest, errorBody(msg))
}
