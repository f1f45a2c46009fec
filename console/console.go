// Package console is hookledger's web console for support and on-call
// staff (issue 9): static ES modules, CSS and one HTML page, embedded in
// the binary and served by the query tier under /console/. Everything the
// console shows it reads from the public query API (/v1/*) with the bearer
// token its user signs in with, so it sees exactly what that token sees.
//
// Callback bodies and headers are attacker-controlled, so every console
// response carries a strict Content-Security-Policy (no inline script or
// style, nothing loaded from another origin, no framing) and
// X-Content-Type-Options: nosniff, and the scripts build the DOM with
// textContent only.
package console

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

//go:embed assets
var embedded embed.FS

// Prefix is the path the console is served under.
const Prefix = "/console/"

// ContentSecurityPolicy is sent with every console response. script-src
// and style-src 'self' forbid inline code and styles; connect-src 'self'
// keeps fetch on the query API's own origin.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Register mounts the console on e: GET /console redirects to /console/,
// and /console/* serves the embedded assets (index.html for the
// directory). Unknown paths are 404, with the same security headers.
func Register(e *echo.Echo) {
	assets, err := fs.Sub(embedded, "assets")
	if err != nil {
		panic(err) // the embedded tree always has assets/
	}
	files := http.StripPrefix(Prefix, http.FileServerFS(assets))
	serve := func(c echo.Context) error {
		setHeaders(c.Response().Header())
		// Directory listings are not part of the console.
		if p := c.Request().URL.Path; p != Prefix && strings.HasSuffix(p, "/") {
			return c.JSON(http.StatusNotFound, map[string]string{"error": "not found"})
		}
		files.ServeHTTP(c.Response(), c.Request())
		return nil
	}
	e.GET("/console", func(c echo.Context) error {
		setHeaders(c.Response().Header())
		return c.Redirect(http.StatusMovedPermanently, Prefix)
	})
	e.GET(Prefix+"*", serve)
	e.HEAD(Prefix+"*", serve)
}

// setHeaders sets the security and caching headers of every console
// response. no-cache makes a browser revalidate, so an upgraded binary's
// assets are used at once.
func setHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}
