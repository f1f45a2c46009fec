package schema

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"unicode/utf8"
)

// appendMeta appends the v2 metadata header of r (the Record without its
// body) to dst, byte for byte what json.Marshal writes for it (key order,
// sorted header names, HTML-safe string escapes), without reflection.
// ok is false for a record json.Marshal would refuse (a ReceivedAt year
// outside 0–9999, a zone offset of seconds); the caller then uses json.Marshal for its error.
//
// TestAppendMetaIsJSONMarshal holds it to json.Marshal's output.
func appendMeta(dst []byte, r *Record) (_ []byte, ok bool) {
	if y := r.ReceivedAt.Year(); y < 0 || y > 9999 {
		return dst, false
	}
	if _, offset := r.ReceivedAt.Zone(); offset%60 != 0 {
		return dst, false // json.Marshal refuses an offset in seconds
	}
	dst = append(dst, `{"v":`...)
	dst = strconv.AppendInt(dst, int64(RecordVersion), 10)
	dst = append(dst, `,"id":"`...)
	dst = appendUUID(dst, r.ID)
	dst = append(dst, `","received_at":"`...)
	dst = r.ReceivedAt.AppendFormat(dst, "2006-01-02T15:04:05.999999999Z07:00")
	dst = append(dst, `","source":`...)
	dst = appendJSONString(dst, r.Source)
	dst = append(dst, `,"provider":`...)
	dst = appendJSONString(dst, r.Provider)
	dst = append(dst, `,"tenant":`...)
	dst = appendJSONString(dst, r.Tenant)
	dst = append(dst, `,"method":`...)
	dst = appendJSONString(dst, r.Method)
	dst = append(dst, `,"url":`...)
	dst = appendJSONString(dst, r.URL)
	dst = append(dst, `,"remote_addr":`...)
	dst = appendJSONString(dst, r.RemoteAddr)
	dst = append(dst, `,"headers":`...)
	dst = appendHeader(dst, r.Headers)
	dst = append(dst, `,"verdict":`...)
	dst = appendJSONString(dst, string(r.Verdict))
	if r.Reason != "" {
		dst = append(dst, `,"reason":`...)
		dst = appendJSONString(dst, string(r.Reason))
	}
	if r.Detail != "" {
		dst = append(dst, `,"detail":`...)
		dst = appendJSONString(dst, r.Detail)
	}
	if r.KeyID != "" {
		dst = append(dst, `,"key_id":`...)
		dst = appendJSONString(dst, r.KeyID)
	}
	dst = append(dst, `,"body_bytes":`...)
	dst = strconv.AppendInt(dst, int64(r.BodyBytes), 10)
	if r.BodyTruncated {
		dst = append(dst, `,"body_truncated":true`...)
	}
	return append(dst, '}'), true
}

// appendHeader writes h as json.Marshal does: null when nil, names
// sorted, a nil value list as null.
func appendHeader(dst []byte, h http.Header) []byte {
	if h == nil {
		return append(dst, "null"...)
	}
	var stack [32]string
	names := stack[:0]
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	dst = append(dst, '{')
	for i, k := range names {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		vs := h[k]
		if vs == nil {
			dst = append(dst, "null"...)
			continue
		}
		dst = append(dst, '[')
		for j, v := range vs {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, v)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

func appendUUID(dst []byte, id [16]byte) []byte {
	const hexDigits = "0123456789abcdef"
	for i, b := range id {
		switch i {
		case 4, 6, 8, 10:
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[b>>4], hexDigits[b&0xF])
	}
	return dst
}

// appendJSONString quotes s as encoding/json does with HTML escaping:
// <, > and & as \u003c…, control characters escaped, invalid UTF-8 as
// \ufffd, U+2028 and U+2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// marshalMeta is the v2 metadata header of r.
func marshalMeta(r *Record) ([]byte, error) {
	if b, ok := appendMeta(make([]byte, 0, 512+len(r.URL)+len(r.Detail)), r); ok {
		return b, nil
	}
	meta := *r
	meta.Version, meta.Body = RecordVersion, nil
	return json.Marshal(&meta)
}

// parseMeta decodes a v2 metadata header written by appendMeta (or
// json.Marshal) into r without reflection. ok is false for anything it
// does not read exactly as json.Unmarshal would: whitespace, a key it does
// not know (json also matches keys case-insensitively), a value of an
// unexpected kind, a surrogate escape, invalid UTF-8, a malformed document.
// The caller then decodes with json.Unmarshal, which decides; so the
// result is always json.Unmarshal's (TestParseMetaIsJSONUnmarshal).
func parseMeta(s string, r *Record) (ok bool) {
	p := metaParser{s: s}
	if !p.byte('{') {
		return false
	}
	if p.peek() == '}' {
		p.i++
		return p.i == len(p.s)
	}
	for {
		key, ok := p.str()
		if !ok || !p.byte(':') {
			return false
		}
		switch key {
		case "v":
			r.Version, ok = p.int()
		case "id":
			var v string
			if v, ok = p.str(); ok {
				ok = r.ID.UnmarshalText([]byte(v)) == nil
			}
		case "received_at":
			start := p.i
			if _, ok = p.str(); ok {
				ok = r.ReceivedAt.UnmarshalJSON([]byte(p.s[start:p.i])) == nil
			}
		case "source":
			r.Source, ok = p.str()
		case "provider":
			r.Provider, ok = p.str()
		case "tenant":
			r.Tenant, ok = p.str()
		case "method":
			r.Method, ok = p.str()
		case "url":
			r.URL, ok = p.str()
		case "remote_addr":
			r.RemoteAddr, ok = p.str()
		case "headers":
			ok = p.header(r)
		case "verdict":
			var v string
			v, ok = p.str()
			r.Verdict = Verdict(v)
		case "reason":
			var v string
			v, ok = p.str()
			r.Reason = Reason(v)
		case "detail":
			r.Detail, ok = p.str()
		case "key_id":
			r.KeyID, ok = p.str()
		case "body_bytes":
			r.BodyBytes, ok = p.int()
		case "body_truncated":
			r.BodyTruncated, ok = p.bool()
		default:
			return false
		}
		if !ok {
			return false
		}
		switch p.next() {
		case ',':
		case '}':
			return p.i == len(p.s)
		default:
			return false
		}
	}
}

type metaParser struct {
	s string
	i int
}

func (p *metaParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *metaParser) next() byte {
	b := p.peek()
	p.i++
	return b
}

func (p *metaParser) byte(b byte) bool { return p.next() == b }

func (p *metaParser) lit(l string) bool {
	if len(p.s)-p.i >= len(l) && p.s[p.i:p.i+len(l)] == l {
		p.i += len(l)
		return true
	}
	return false
}

func (p *metaParser) bool() (bool, bool) {
	switch {
	case p.lit("true"):
		return true, true
	case p.lit("false"):
		return false, true
	}
	return false, false
}

// int reads a plain decimal integer of at most 18 digits (no sign, no
// fraction, no exponent, no leading zero).
func (p *metaParser) int() (int, bool) {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	d := p.s[start:p.i]
	if len(d) == 0 || len(d) > 18 || (d[0] == '0' && len(d) > 1) {
		return 0, false
	}
	n, err := strconv.Atoi(d)
	return n, err == nil
}

// str reads a JSON string. Without escapes it is a substring of the
// header (no copy).
func (p *metaParser) str() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.s) {
		b := p.s[p.i]
		switch {
		case b == '"':
			v := p.s[start:p.i]
			p.i++
			return v, true
		case b == '\\':
			return p.unescape(start)
		case b < 0x20:
			return "", false
		case b < utf8.RuneSelf:
			p.i++
		default:
			c, size := utf8.DecodeRuneInString(p.s[p.i:])
			if c == utf8.RuneError && size == 1 {
				return "", false
			}
			p.i += size
		}
	}
	return "", false
}

// unescape finishes a string that started at start and has an escape at
// p.i.
func (p *metaParser) unescape(start int) (string, bool) {
	out := make([]byte, 0, 2*(p.i-start)+16)
	out = append(out, p.s[start:p.i]...)
	for p.i < len(p.s) {
		b := p.s[p.i]
		switch {
		case b == '"':
			p.i++
			return string(out), true
		case b == '\\':
			if p.i+1 >= len(p.s) {
				return "", false
			}
			e := p.s[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				if p.i+4 > len(p.s) {
					return "", false
				}
				c, err := strconv.ParseUint(p.s[p.i:p.i+4], 16, 16)
				if err != nil || (c >= 0xD800 && c <= 0xDFFF) {
					return "", false // surrogates: json.Unmarshal decides
				}
				p.i += 4
				out = utf8.AppendRune(out, rune(c))
			default:
				return "", false
			}
		case b < 0x20:
			return "", false
		case b < utf8.RuneSelf:
			out = append(out, b)
			p.i++
		default:
			c, size := utf8.DecodeRuneInString(p.s[p.i:])
			if c == utf8.RuneError && size == 1 {
				return "", false
			}
			out = append(out, p.s[p.i:p.i+size]...)
			p.i += size
		}
	}
	return "", false
}

// header reads the headers object (or null) into r.Headers, merging
// into a map already there as json.Unmarshal does.
func (p *metaParser) header(r *Record) bool {
	if p.lit("null") {
		r.Headers = nil
		return true
	}
	if !p.byte('{') {
		return false
	}
	if r.Headers == nil {
		r.Headers = make(http.Header, 8)
	}
	if p.peek() == '}' {
		p.i++
		return true
	}
	for {
		name, ok := p.str()
		if !ok || !p.byte(':') {
			return false
		}
		if p.lit("null") {
			r.Headers[name] = nil
		} else {
			if !p.byte('[') {
				return false
			}
			vs := []string{}
			if p.peek() == ']' {
				p.i++
			} else {
				for {
					v, ok := p.str()
					if !ok {
						return false
					}
					vs = append(vs, v)
					c := p.next()
					if c == ']' {
						break
					}
					if c != ',' {
						return false
					}
				}
			}
			r.Headers[name] = vs
		}
		switch p.next() {
		case ',':
		case '}':
			return true
		default:
			return false
		}
	}
}
