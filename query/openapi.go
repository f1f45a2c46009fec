package query

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"gopkg.in/yaml.v3"
)

// openAPIYAML is the API's OpenAPI 3.1 document, written by hand. It is
// the contract: contract tests (internal/app) validate real answers of the
// running pipeline against it, and docs/openapi.yaml must be a byte-exact
// copy (TestDocsCopyOfOpenAPI).
//
//go:embed openapi.yaml
var openAPIYAML []byte

// openAPIJSON renders the document as JSON. Every mapping key of the
// document must be a string (status codes are quoted), so it maps onto a
// JSON object.
func openAPIJSON(doc []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(doc, &v); err != nil {
		return nil, fmt.Errorf("query: openapi to json: %w", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("query: openapi to json: %w", err)
	}
	return b, nil
}

// registerOpenAPI serves the document, as YAML and as JSON, without a
// token: it describes the API, not any tenant's data. Like every route it
// takes no parameter it does not declare.
func (s *Server) registerOpenAPI(v1 *echo.Group) {
	asJSON, err := openAPIJSON(openAPIYAML)
	if err != nil {
		panic(err) // the embedded document is fixed at build time; TestOpenAPIDocument parses it
	}
	docs := []struct {
		path, contentType string
		body              []byte
	}{
		{"/openapi.yaml", "application/yaml", openAPIYAML},
		{"/openapi.json", echo.MIMEApplicationJSON, asJSON},
	}
	for _, d := range docs {
		v1.GET(d.path, func(c echo.Context) error {
			return c.Blob(http.StatusOK, d.contentType, d.body)
		}, s.checkInput(route{path: d.path}))
	}
}
