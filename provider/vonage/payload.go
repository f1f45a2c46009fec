package vonage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/hookledger/hookledger/provider"
)

// payload is a callback's parameters as both verification and normalisation
// read them (docs/ingest.md#routes): the decoded query of a GET, the urlencoded or JSON
// body of a POST.
//
// Invariants: params holds one entry per name, in order of first
// appearance, with the first value received for that name (the "one string
// per name" of docs/ingest.md#routes; Vonage never repeats a name, and using one rule for
// both the signature and the stored fields means a repeated name can never
// make normalisation read a value the signature did not cover). For a JSON
// body, raw holds each top-level member's JSON text under the same rule and
// params holds its string form (see scalarString).
type payload struct {
	params []provider.Param
	raw    map[string]json.RawMessage // nil unless the body is a JSON object
	index  map[string]int             // name -> position in params
}

// errUnsupportedBody is returned for a POST body that is neither JSON nor
// urlencoded.
var errUnsupportedBody = errors.New("body is neither JSON nor application/x-www-form-urlencoded")

// parsePayload extracts the payload of req. An empty POST body is an empty
// payload. Errors describe what could not be parsed, never its content.
func parsePayload(req *provider.Request) (*payload, error) {
	return parsePayloadUpTo(req, 0)
}

// parseSignedPayload is parsePayload for verification: a payload of more
// than provider.MaxParams parameters or JSON members is refused (with an
// error wrapping provider.ErrTooManyParams) before it is decoded, or, for
// JSON, as soon as the decoder reaches one member too many.
// Normalisation reads verified records with parsePayload, unbounded.
func parseSignedPayload(req *provider.Request) (*payload, error) {
	if err := req.CheckParamCount(); err != nil {
		return nil, err
	}
	return parsePayloadUpTo(req, provider.MaxParams)
}

// parsePayloadUpTo is parsePayload with JSON objects of at most maxMembers
// members (0: any number).
func parsePayloadUpTo(req *provider.Request, maxMembers int) (*payload, error) {
	if req.Method == http.MethodGet {
		return paramsPayload(req.RawQuery())
	}
	switch {
	case len(bytes.TrimSpace(req.Body)) == 0:
		return &payload{index: map[string]int{}}, nil
	case req.IsJSON():
		return jsonPayload(req.Body, maxMembers)
	case req.IsForm():
		return paramsPayload(string(req.Body))
	default:
		return nil, errUnsupportedBody
	}
}

func paramsPayload(encoded string) (*payload, error) {
	all, err := provider.ParseParams(encoded)
	if err != nil {
		return nil, fmt.Errorf("bad urlencoding: %w", err)
	}
	p := &payload{index: make(map[string]int, len(all))}
	for _, kv := range all {
		p.add(kv.Name, kv.Value)
	}
	return p, nil
}

// add keeps the first value of name and reports whether it was new.
func (p *payload) add(name, value string) bool {
	if _, dup := p.index[name]; dup {
		return false
	}
	p.index[name] = len(p.params)
	p.params = append(p.params, provider.Param{Name: name, Value: value})
	return true
}

// jsonPayload decodes a JSON object body member by member, so that member
// order and first-wins duplicates match paramsPayload. With maxMembers > 0,
// an object with more members is refused when the decoder reaches the
// first one too many.
func jsonPayload(body []byte, maxMembers int) (*payload, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("bad JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("JSON body is not an object")
	}
	p := &payload{index: map[string]int{}, raw: map[string]json.RawMessage{}}
	for members := 0; dec.More(); members++ {
		if maxMembers > 0 && members == maxMembers {
			return nil, fmt.Errorf("JSON object of %d members or more: %w", maxMembers+1, provider.ErrTooManyParams)
		}
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("bad JSON: %w", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, errors.New("bad JSON: object key is not a string")
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, fmt.Errorf("bad JSON: %w", err)
		}
		if p.add(name, scalarString(value)) {
			p.raw[name] = value
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, fmt.Errorf("bad JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("bad JSON: data after the top-level object")
	}
	return p, nil
}

// scalarString is the string form of a JSON member, the value the provider
// had before serialising it: a string's content, a number or boolean
// literal's text exactly as sent (so 0.03330000 stays "0.03330000"), the
// empty string for null, and the compact JSON text of an object or array.
// Vonage sends every SMS API field as a JSON string, so for signed SMS
// payloads only the first rule matters in practice; the others are the
// closest faithful reading of what a form post of the same value would have
// carried.
func scalarString(raw json.RawMessage) string {
	switch {
	case len(raw) == 0:
		return ""
	case raw[0] == '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return ""
	case string(raw) == "null":
		return ""
	case raw[0] == '{' || raw[0] == '[':
		var buf bytes.Buffer
		if json.Compact(&buf, raw) == nil {
			return buf.String()
		}
		return string(raw)
	default:
		return string(raw)
	}
}

// get returns the string form of name and whether it is present.
func (p *payload) get(name string) (string, bool) {
	i, ok := p.index[name]
	if !ok {
		return "", false
	}
	return p.params[i].Value, true
}

// str returns the string form of name, "" when absent.
func (p *payload) str(name string) string {
	v, _ := p.get(name)
	return v
}

// has reports whether name is present with a non-empty value.
func (p *payload) has(name string) bool {
	return strings.TrimSpace(p.str(name)) != ""
}

// object decodes the member name as a JSON object, or nil when it is absent
// or not an object (a GET or form payload has no objects).
func (p *payload) object(name string) map[string]json.RawMessage {
	raw, ok := p.raw[name]
	if !ok || len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil
	}
	return obj
}

// jsonValue returns the member name as JSON text: its raw text for a JSON
// payload, a JSON string for a parameter; nil when absent.
func (p *payload) jsonValue(name string) json.RawMessage {
	if raw, ok := p.raw[name]; ok {
		return raw
	}
	v, ok := p.get(name)
	if !ok {
		return nil
	}
	b, _ := json.Marshal(v)
	return b
}
