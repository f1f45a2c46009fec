// Package providerapi is the HTTP plumbing shared by the clients of
// providers' management APIs (MessageMedia's signature keys, Vonage's
// applications): one JSON request at a time with HTTP Basic auth, a bounded
// answer, and errors that are safe to print.
//
// What each API's documents mean, and how a provider words its error
// answers, stays with the provider's package; this one only moves bytes and
// keeps the API secret out of every error it builds.
package providerapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// maxResponseBytes bounds how much of an answer is read. The documents these
// APIs serve (a signature key record, an application) are a few kilobytes at
// most; the bound only stops a misbehaving endpoint from making the CLI
// buffer without limit.
const maxResponseBytes = 1 << 20

// maxMessageRunes bounds the provider's own error text quoted in an error,
// so a proxy's HTML error page does not flood the terminal.
const maxMessageRunes = 200

// redacted replaces the API secret wherever a provider's text contains it.
const redacted = "[redacted]"

// Client sends requests to one provider API with HTTP Basic auth.
//
// Invariants: the API secret is only ever sent in the Authorization header
// and never appears in an error this package returns, even when the
// provider (or a proxy) echoes it back. Every error names the API, the
// method and the path. A Client is safe for concurrent use when its
// http.Client is.
type Client struct {
	api       string // names the API in errors, e.g. "vonage applications API"
	base      string // scheme://host[/prefix], no trailing slash
	apiKey    string
	apiSecret string // never empty: redacting "" would rewrite every message
	http      *http.Client
}

// New returns a client for the API named apiName (used as the prefix of its
// errors) at base. base must be an absolute http or https URL without user
// info, query or fragment; whether plain http is acceptable is the caller's
// policy. apiKey and apiSecret must both be set. httpClient nil means
// http.DefaultClient, which has no timeout: callers bound each call through
// its context or pass a client with one.
func New(apiName, base, apiKey, apiSecret string, httpClient *http.Client) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("%s base URL: %w", apiName, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%s base URL: want http(s)://host[/prefix] without credentials, query or fragment", apiName)
	}
	if apiKey == "" || apiSecret == "" {
		return nil, fmt.Errorf("%s: API key and secret are both required", apiName)
	}
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	return &Client{
		api:       apiName,
		base:      strings.TrimRight(u.String(), "/"),
		apiKey:    apiKey,
		apiSecret: apiSecret,
		http:      httpClient,
	}, nil
}

// Base is the base URL requests go to: scheme://host[/prefix], without a
// trailing slash, so that base+path never doubles the slash.
func (c *Client) Base() string { return c.base }

// Do sends one request to base+path and returns the answer of a 2xx
// response. body, when not nil, is sent as is with Content-Type
// application/json; nil sends no body. Every request asks for JSON.
//
// Any other status is a *StatusError whose Message is explain(answer) when
// that is not empty (explain nil counts as empty), else the answer itself
// when it is UTF-8 text; either way bounded, on one line and with the API
// secret replaced by "[redacted]". Answers longer than 1 MiB are an error
// whatever their status. Transport errors, including a cancelled context,
// are wrapped so errors.Is sees them.
func (c *Client) Do(ctx context.Context, method, path string, body []byte, explain func(answer []byte) string) ([]byte, error) {
	var reqBody io.Reader
	if body != nil {
		reqBody = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, reqBody)
	if err != nil {
		return nil, fmt.Errorf("%s: %s %s: %w", c.api, method, path, err)
	}
	req.SetBasicAuth(c.apiKey, c.apiSecret)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// The transport's error names the URL, which carries no credentials:
		// they travel in a header only.
		return nil, fmt.Errorf("%s: %s %s: %w", c.api, method, path, err)
	}
	defer resp.Body.Close()
	// Reading one byte past the bound tells an answer of exactly the bound
	// from a longer one without buffering the rest.
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %s %s: read answer: %w", c.api, method, path, err)
	}
	if len(answer) > maxResponseBytes {
		return nil, fmt.Errorf("%s: %s %s: answer larger than %d bytes", c.api, method, path, maxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		explained := ""
		if explain != nil {
			explained = explain(answer)
		}
		return nil, &StatusError{API: c.api, Method: method, Path: path, StatusCode: resp.StatusCode, Message: c.quote(explained, answer)}
	}
	return answer, nil
}

// quote makes a provider's error text fit to print: explained when not
// empty, else answer when it is valid UTF-8 (binary is dropped rather than
// mangled), with the secret cut out in case the provider echoes request
// data back, whitespace runs folded to single spaces and at most
// maxMessageRunes runes kept ("…" marks a cut).
func (c *Client) quote(explained string, answer []byte) string {
	text := explained
	if text == "" && utf8.Valid(answer) {
		text = string(answer)
	}
	// Redact before collapsing whitespace, which could otherwise split or
	// join the secret's own spaces and hide it from the match.
	text = strings.ReplaceAll(text, c.apiSecret, redacted)
	text = strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(text) > maxMessageRunes {
		text = string([]rune(text)[:maxMessageRunes]) + "…"
	}
	return text
}

// StatusError is a non-2xx answer from a provider API.
type StatusError struct {
	// API names the API, as given to New.
	API        string
	Method     string
	Path       string
	StatusCode int
	// Message is the provider's own explanation when it gave one: bounded,
	// on one line, with the API secret removed.
	Message string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s: %s %s: %d %s", e.API, e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}
