package query

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync/atomic"

	"github.com/labstack/echo/v4"

	"github.com/hookledger/hookledger/storage"
)

// Store is what the API reads. Every method sees only what scope allows;
// single reads return storage.ErrNotFound when the scope sees nothing.
type Store interface {
	Messages(ctx context.Context, scope storage.Scope, id string, want storage.Owner) ([]storage.Message, error)
	ListMessages(ctx context.Context, scope storage.Scope, f storage.MessageFilter, p storage.Page) ([]storage.Message, *storage.Cursor, error)
	Calls(ctx context.Context, scope storage.Scope, id string, want storage.Owner) ([]storage.Call, error)
	ListCalls(ctx context.Context, scope storage.Scope, f storage.CallFilter, p storage.Page) ([]storage.Call, *storage.Cursor, error)
	Replies(ctx context.Context, scope storage.Scope, f storage.ReplyFilter, p storage.Page) ([]storage.Reply, *storage.Cursor, error)
	MessageStats(ctx context.Context, scope storage.Scope, q storage.StatsQuery) ([]storage.StatsBucket, error)
	Callback(ctx context.Context, scope storage.Scope, eventID string) (*storage.Callback, error)
	Rejections(ctx context.Context, scope storage.Scope, f storage.RejectionFilter, p storage.Page) ([]storage.Rejection, *storage.Cursor, error)
	ListCallbacks(ctx context.Context, scope storage.Scope, f storage.CallbackFilter, p storage.Page) ([]storage.CallbackSummary, *storage.Cursor, error)
}

// Server serves /v1/*.
type Server struct {
	store   Store
	tokens  atomic.Pointer[Tokens]
	catalog atomic.Pointer[Catalog]
	log     *slog.Logger
}

// New builds a Server.
func New(store Store, tokens Tokens, catalog Catalog, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{store: store, log: log}
	s.tokens.Store(&tokens)
	s.catalog.Store(&catalog)
	return s
}

// SetTokens swaps in a new token set (config reload).
func (s *Server) SetTokens(t Tokens) { s.tokens.Store(&t) }

// SetCatalog swaps in new providers and sources (config reload).
func (s *Server) SetCatalog(c Catalog) { s.catalog.Store(&c) }

// routes are the API's endpoints under /v1 and the parameters each takes.
func (s *Server) routes() []route {
	owner := []string{"tenant", "provider"}
	return []route{
		{path: "/messages", params: paged("tenant", "status", "provider", "source", "to", "from"), handle: s.listMessages},
		{path: "/messages/:id", idName: "message id", params: owner, handle: s.getMessage},
		{path: "/calls", params: paged("tenant", "status", "provider", "source", "to", "from"), handle: s.listCalls},
		{path: "/calls/:id", idName: "call id", params: owner, handle: s.getCall},
		{path: "/replies", params: paged("tenant", "message_id", "from", "to"), handle: s.listReplies},
		{path: "/stats/messages", params: []string{"tenant", "since", "until", "interval", "group_by"}, handle: s.messageStats},
		{path: "/callbacks", params: paged("tenant", "source", "verdict", "reason"), handle: s.listCallbacks, auditedSources: true},
		{path: "/callbacks/:id", idName: "event id", handle: s.getCallback},
		{path: "/rejections", params: paged("tenant", "source", "reason"), handle: s.listRejections, auditedSources: true},
	}
}

// Register mounts the API on e. Authentication is route middleware, not
// the group's: Echo answers every request under a group with middleware
// that matches no route through a catch-all 404, which hid the 405 (with
// Allow) a wrong method on a known route gets from Echo's router.
func (s *Server) Register(e *echo.Echo) {
	v1 := e.Group("/v1")
	for _, r := range s.routes() {
		v1.GET(r.path, r.handle, s.authenticate, s.checkInput(r))
	}
	s.registerOpenAPI(v1)
}

const scopeKey = "hookledger.scope"

func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		tok, ok := (*s.tokens.Load()).match(c.Request().Header.Get("Authorization"))
		if !ok {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="hookledger"`)
			return c.JSON(http.StatusUnauthorized, errorBody("missing or invalid bearer token"))
		}
		c.Set(scopeKey, tok.scope)
		return next(c)
	}
}

func scopeOf(c echo.Context) storage.Scope { return c.Get(scopeKey).(storage.Scope) }

// listScope is the scope a list or the statistics read: the token's, narrowed to ?tenant=
// when given (checkInput has made sure the token sees that tenant).
func listScope(c echo.Context) storage.Scope {
	if t := c.QueryParam("tenant"); t != "" {
		return storage.Scope{Tenants: []string{t}}
	}
	return scopeOf(c)
}

func errorBody(msg string) map[string]string { return map[string]string{"error": msg} }

func (s *Server) getMessage(c echo.Context) error {
	msgs, err := s.store.Messages(c.Request().Context(), scopeOf(c), c.Param("id"), ownerParams(c))
	if err != nil {
		return s.readError(c, err, "message")
	}
	return single(c, "message", msgs, storage.Message.Owner)
}

func (s *Server) getCall(c echo.Context) error {
	calls, err := s.store.Calls(c.Request().Context(), scopeOf(c), c.Param("id"), ownerParams(c))
	if err != nil {
		return s.readError(c, err, "call")
	}
	return single(c, "call", calls, storage.Call.Owner)
}

// ownerParams reads ?tenant= and ?provider=, which pick one of the owners
// of an ambiguous id.
func ownerParams(c echo.Context) storage.Owner {
	return storage.Owner{Tenant: c.QueryParam("tenant"), Provider: c.QueryParam("provider")}
}

// single answers a single read: the object when exactly one owner knows
// the id, else 409 (see ambiguous).
func single[T any](c echo.Context, what string, found []T, owner func(T) storage.Owner) error {
	if len(found) == 1 {
		return c.JSON(http.StatusOK, found[0])
	}
	owners := make([]storage.Owner, len(found))
	for i, f := range found {
		owners[i] = owner(f)
	}
	return ambiguous(c, what, owners)
}

// ambiguous answers 409 for an id several owners know (ids are unique per
// provider only, and any tenant may report any id): "matches" lists each
// (tenant, provider), "providers" the distinct providers among them, so
// the client can add ?tenant= and ?provider=.
func ambiguous(c echo.Context, what string, owners []storage.Owner) error {
	var providers []string
	for _, o := range owners {
		if !slices.Contains(providers, o.Provider) {
			providers = append(providers, o.Provider)
		}
	}
	slices.Sort(providers)
	return c.JSON(http.StatusConflict, map[string]any{
		"error":     what + " id is known to several (tenant, provider) pairs; add ?tenant= and ?provider=",
		"matches":   owners,
		"providers": providers,
	})
}

func (s *Server) getCallback(c echo.Context) error {
	cb, err := s.store.Callback(c.Request().Context(), scopeOf(c), c.Param("id"))
	if err != nil {
		return s.readError(c, err, "callback")
	}
	return c.JSON(http.StatusOK, cb)
}

func (s *Server) readError(c echo.Context, err error, what string) error {
	if msg, ok := isBadRequest(err); ok {
		return c.JSON(http.StatusBadRequest, errorBody(msg))
	}
	if errors.Is(err, storage.ErrNotFound) {
		return c.JSON(http.StatusNotFound, errorBody(what+" not found"))
	}
	s.log.Error("query failed", "path", c.Path(), "err", err)
	return c.JSON(http.StatusInternalServerError, errorBody("query failed"))
}
