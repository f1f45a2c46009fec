package signalwire

import "strings"

// portVariants returns signedURL followed by, when it has one, its port
// variant: the URL with the scheme's default port (:443 for https, :80 for
// http) added when it names no port, or with its explicit port removed.
//
// Invariant: only the authority changes; the path and the raw query are
// copied byte for byte (they are part of what was signed).
func portVariants(signedURL string) []string {
	if v, ok := portVariant(signedURL); ok {
		return []string{signedURL, v}
	}
	return []string{signedURL}
}

// portVariant computes the single alternative of portVariants.
func portVariant(signedURL string) (string, bool) {
	schemeEnd := strings.Index(signedURL, "://")
	if schemeEnd <= 0 {
		return "", false
	}
	scheme := strings.ToLower(signedURL[:schemeEnd])
	authStart := schemeEnd + len("://")
	authEnd := len(signedURL)
	if i := strings.IndexAny(signedURL[authStart:], "/?#"); i >= 0 {
		authEnd = authStart + i
	}
	authority := signedURL[authStart:authEnd]
	hostStart := authStart
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		hostStart += at + 1
	}
	hostPort := signedURL[hostStart:authEnd]
	if hostPort == "" {
		return "", false
	}

	// Find the port separator, skipping the colons of an IPv6 literal.
	colon := -1
	if strings.HasPrefix(hostPort, "[") {
		end := strings.IndexByte(hostPort, ']')
		if end < 0 {
			return "", false
		}
		if end+1 < len(hostPort) {
			if hostPort[end+1] != ':' {
				return "", false
			}
			colon = end + 1
		}
	} else {
		colon = strings.LastIndexByte(hostPort, ':')
	}

	if colon >= 0 {
		if !allDigits(hostPort[colon+1:]) || colon == 0 {
			return "", false
		}
		portAt := hostStart + colon
		return signedURL[:portAt] + signedURL[authEnd:], true
	}

	var defaultPort string
	switch scheme {
	case "https":
		defaultPort = ":443"
	case "http":
		defaultPort = ":80"
	default:
		return "", false
	}
	return signedURL[:authEnd] + defaultPort + signedURL[authEnd:], true
}

// allDigits reports whether s is made of ASCII digits only (the empty port
// of "host:" counts: removing the stray colon is a fair variant).
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
