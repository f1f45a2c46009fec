package ingest

import (
	"net/http"
	"net/url"
	"strings"
)

// URLPolicy is how ingest rebuilds the URL a provider signed (docs/ingest.md#the-signed-url).
type URLPolicy struct {
	// PublicBaseURL is scheme://host[:port][/prefix] providers call; "" means
	// use the request's own scheme and host.
	PublicBaseURL string
	// TrustForwardedHeaders uses X-Forwarded-Proto/Host (first value) for
	// the request's scheme and host. Only safe behind a proxy that sets them.
	TrustForwardedHeaders bool
}

// hookRequest is the parts of a request URL ingest works with, raw.
type hookRequest struct {
	rawPath  string // path as received, never decoded
	suffix   string // raw path after /hooks/{id}, with its leading "/", or ""
	rawQuery string // query as received, never decoded
}

func splitRequestURI(r *http.Request, sourceID string) hookRequest {
	uri := r.RequestURI
	if uri == "" || !strings.HasPrefix(uri, "/") { // absolute-form request line, or a test request
		uri = r.URL.RequestURI()
	}
	path, query, _ := strings.Cut(uri, "?")
	h := hookRequest{rawPath: path, rawQuery: query}
	prefix := "/hooks/" + sourceID
	if strings.HasPrefix(path, prefix) {
		h.suffix = path[len(prefix):]
	} else if i := strings.Index(path, "/hooks/"); i >= 0 {
		// The id was percent-encoded in the raw path; keep the raw remainder.
		rest := path[i+len("/hooks/"):]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			h.suffix = rest[j:]
		}
	}
	return h
}

func withQuery(u, rawQuery string) string {
	if rawQuery == "" {
		return u
	}
	return u + "?" + rawQuery
}

// publicURLWith is a source's public_url standing for /hooks/{id}, with the
// raw path after it. public_url is used exactly as configured, trailing
// slash included, because that is the URL the provider was given and signs;
// a slash is only dropped to join a suffix that brings its own.
func publicURLWith(publicURL, suffix string) string {
	if suffix == "" {
		return publicURL
	}
	return strings.TrimSuffix(publicURL, "/") + suffix
}

// SignedURL returns the URL the provider signed for r.
func (p URLPolicy) SignedURL(r *http.Request, src *Source) string {
	h := splitRequestURI(r, src.ID)
	switch {
	case src.PublicURL != "":
		return withQuery(publicURLWith(src.PublicURL, h.suffix), h.rawQuery)
	case p.PublicBaseURL != "":
		return withQuery(strings.TrimSuffix(p.PublicBaseURL, "/")+h.rawPath, h.rawQuery)
	default:
		return withQuery(requestOrigin(r, p.TrustForwardedHeaders)+h.rawPath, h.rawQuery)
	}
}

// requestOrigin is scheme://host of the request itself.
func requestOrigin(r *http.Request, trustForwarded bool) string {
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if trustForwarded {
		if v := firstValue(r.Header.Get("X-Forwarded-Proto")); v != "" {
			scheme = strings.ToLower(v)
		}
		if v := firstValue(r.Header.Get("X-Forwarded-Host")); v != "" {
			host = v
		}
	}
	return scheme + "://" + host
}

func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

// Alternatives lists URLs other than signed that a misconfigured
// deployment would have the provider sign: the request's own origin with
// and without forwarded headers, the other scheme, a path prefix a proxy
// added or stripped, and the configured public URLs not in use. They are
// only ever used to explain a failure.
func (p URLPolicy) Alternatives(r *http.Request, src *Source, signed string) []string {
	h := splitRequestURI(r, src.ID)
	seen := map[string]bool{signed: true}
	var out []string
	add := func(u string) {
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	origins := []string{requestOrigin(r, false), requestOrigin(r, true)}
	if pu, err := url.Parse(signed); err == nil && pu.Host != "" {
		origins = append(origins, pu.Scheme+"://"+pu.Host)
	}
	paths := []string{h.rawPath}
	if prefix := r.Header.Get("X-Forwarded-Prefix"); prefix != "" {
		paths = append(paths, strings.TrimSuffix(firstValue(prefix), "/")+h.rawPath)
	}
	if p.PublicBaseURL != "" {
		if bu, err := url.Parse(p.PublicBaseURL); err == nil && bu.Path != "" && bu.Path != "/" {
			paths = append(paths, strings.TrimSuffix(bu.Path, "/")+h.rawPath)
		}
		add(withQuery(strings.TrimSuffix(p.PublicBaseURL, "/")+h.rawPath, h.rawQuery))
	}
	if src.PublicURL != "" {
		add(withQuery(publicURLWith(src.PublicURL, h.suffix), h.rawQuery))
		// public_url given to the provider with a trailing slash and
		// configured here without it, or the other way round.
		if h.suffix == "" {
			if trimmed := strings.TrimSuffix(src.PublicURL, "/"); trimmed != src.PublicURL {
				add(withQuery(trimmed, h.rawQuery))
			} else {
				add(withQuery(src.PublicURL+"/", h.rawQuery))
			}
		}
	}
	for _, o := range origins {
		for _, scheme := range []string{"https", "http"} {
			_, hostPart, _ := strings.Cut(o, "://")
			for _, path := range paths {
				add(withQuery(scheme+"://"+hostPart+path, h.rawQuery))
			}
		}
	}
	return out
}
