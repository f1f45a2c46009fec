// Package openapitest checks real HTTP exchanges against an OpenAPI 3.1
// document with github.com/pb33f/libopenapi-validator, and records which
// operations and answers were seen, so a contract test can assert that it
// exercised every operation the document declares. Only tests import it.
package openapitest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// Contract is a parsed document with its validators and the answers seen.
type Contract struct {
	Model *v3.Document
	// lax validates answers and well-formed requests; strict also rejects
	// query parameters and headers the document does not declare, which is
	// how the document says "unknown parameter" (the API answers 400).
	lax, strict validator.Validator

	mu   sync.Mutex
	seen map[string]bool // "GET /v1/messages/{message_id} 409"
}

// Load is Parse that fails t on an error.
func Load(t testing.TB, doc []byte) *Contract {
	t.Helper()
	c, err := Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Parse parses doc, returns an error unless it is a valid OpenAPI 3.1
// document (checked against the specification's own schema), and builds
// its validators. Format assertions (date-time, uuid) are on.
func Parse(doc []byte) (*Contract, error) {
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: parse: %w", err)
	}
	if v := d.GetVersion(); v != "3.1.0" {
		return nil, fmt.Errorf("openapi: version %q, want 3.1.0", v)
	}
	docValidator, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		return nil, fmt.Errorf("openapi: validator: %w", errors.Join(errs...))
	}
	if ok, verrs := docValidator.ValidateDocument(); !ok {
		return nil, fmt.Errorf("openapi: not a valid OpenAPI 3.1 document:\n%s", describe(verrs))
	}
	m, err := d.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("openapi: build model: %w", err)
	}
	c := &Contract{Model: &m.Model, seen: map[string]bool{}}
	c.lax = validator.NewValidatorFromV3Model(&m.Model, config.WithFormatAssertions())
	c.strict = validator.NewValidatorFromV3Model(&m.Model, config.WithFormatAssertions(), config.WithStrictMode())
	return c, nil
}

// Operations returns every operation of the document as "METHOD /path".
func (c *Contract) Operations() []string {
	var ops []string
	for path, item := range c.Model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().KeysFromOldest() {
			ops = append(ops, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(ops)
	return ops
}

// Answers returns every (operation, status) the document declares, as
// "METHOD /path STATUS".
func (c *Contract) Answers() []string {
	var out []string
	for path, item := range c.Model.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			for code := range op.Responses.Codes.KeysFromOldest() {
				out = append(out, strings.ToUpper(method)+" "+path+" "+code)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Seen returns the answers Check has validated, as Answers spells them.
func (c *Contract) Seen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for k := range c.seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Check validates one real exchange: the answer must be one the document
// declares for the operation (status, headers, content type and body), and
// the request must match the document exactly when docAccepts, or be one
// the document rejects otherwise (for input only the API can tell is wrong,
// such as an unknown id, pass docAccepts true). op is "METHOD /path" of the
// document. resp's body is read and returned.
func (c *Contract) Check(t testing.TB, op string, req *http.Request, resp *http.Response, docAccepts bool) []byte {
	t.Helper()
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s: read answer: %v", op, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	what := fmt.Sprintf("%s %s → %d %s", req.Method, req.URL.RequestURI(), resp.StatusCode, body)
	if ok, errs := c.lax.ValidateHttpResponse(req, resp); !ok {
		t.Errorf("%s: answer breaks the contract:\n%s", what, describe(errs))
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	ok, errs := c.strict.ValidateHttpRequest(req)
	switch {
	case docAccepts && !ok:
		t.Errorf("%s: the document rejects a request the API accepts as well-formed:\n%s", what, describe(errs))
	case !docAccepts && ok:
		t.Errorf("%s: the document accepts a request the API rejects", what)
	}
	c.mu.Lock()
	c.seen[fmt.Sprintf("%s %d", op, resp.StatusCode)] = true
	c.mu.Unlock()
	return body
}

// CheckComponentResponse validates an answer the document can only
// describe as a reusable response (such as 405 to a method no operation
// declares): its required headers must be present and its body must match
// the response's schema for the answer's content type.
func (c *Contract) CheckComponentResponse(t testing.TB, name string, resp *http.Response, body []byte) {
	t.Helper()
	r := c.Model.Components.Responses.GetOrZero(name)
	if r == nil {
		t.Fatalf("components.responses.%s: not in the document", name)
	}
	for h, hdr := range r.Headers.FromOldest() {
		if hdr.Required && resp.Header.Get(h) == "" {
			t.Errorf("%d answer lacks header %s required by components.responses.%s", resp.StatusCode, h, name)
		}
	}
	ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	mt := r.Content.GetOrZero(strings.TrimSpace(ct))
	if mt == nil {
		t.Fatalf("components.responses.%s: no content for %q", name, ct)
	}
	if ok, errs := schema_validation.NewSchemaValidator().ValidateSchemaBytes(mt.Schema.Schema(), body); !ok {
		t.Errorf("%d %s breaks components.responses.%s:\n%s", resp.StatusCode, body, name, describe(errs))
	}
}

func describe(errs []*liberrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "  - %s: %s\n", e.Message, e.Reason)
		for _, f := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "      %s at %s (%s)\n", f.Reason, f.FieldPath, f.KeywordLocation)
		}
	}
	return b.String()
}
