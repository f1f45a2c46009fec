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
