package query

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"gopkg.in/yaml.v3"

	"github.com/hookledger/hookledger/internal/testinfra/openapitest"
	"github.com/hookledger/hookledger/provider/providers"
	"github.com/hookledger/hookledger/schema"
	"github.com/hookledger/hookledger/storage"
)

// TestOpenAPIDocument: the embedded document, and the JSON the API renders
// from it, are valid OpenAPI 3.1 documents (checked against the
// specification's schema by libopenapi-validator) with the same operations.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	fromYAML := openapitest.Load(t, openAPIYAML)
	asJSON, err := openAPIJSON(openAPIYAML)
	if err != nil {
		t.Fatal(err)
	}
	fromJSON := openapitest.Load(t, asJSON)
	if a, b := fromYAML.Answers(), fromJSON.Answers(); !slices.Equal(a, b) {
		t.Errorf("JSON rendering declares %v, YAML %v", b, a)
	}
	var y, j any
	if err := yaml.Unmarshal(openAPIYAML, &y); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(asJSON, &j); err != nil {
		t.Fatal(err)
	}
	if yb, _ := json.Marshal(y); !bytes.Equal(yb, asJSON) {
		t.Error("JSON rendering differs from the YAML document")
	}
}

// TestOpenAPIValidationIsNotVacuous: the document check refuses documents
// that break the OpenAPI 3.1 schema, so TestOpenAPIDocument passing means
// something.
func TestOpenAPIValidationIsNotVacuous(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string]string{
		"no info":              "openapi: 3.1.0\npaths: {}\n",
		"a parameter in body":  "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      parameters: [{name: x, in: body}]\n      responses: {'200': {description: ok}}\n",
		"a path without slash": "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  a: {}\n",
		"OpenAPI 3.0":          "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n",
	} {
		if _, err := openapitest.Parse([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestDocsCopyOfOpenAPI: docs/openapi.yaml is the embedded document, byte
// for byte (copy query/openapi.yaml there after changing it).
func TestDocsCopyOfOpenAPI(t *testing.T) {
	t.Parallel()
	docs, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(docs, openAPIYAML) {
		t.Error("docs/openapi.yaml differs from query/openapi.yaml: cp query/openapi.yaml docs/openapi.yaml")
	}
}

// TestOpenAPIDescribesEveryRoute: the document's /v1 operations are exactly
// the API's routes, each with exactly the query parameters the route takes
// (any other is 400) and its path id.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	c := openapitest.Load(t, openAPIYAML)
	s := New(nil, nil, Catalog{}, nil)
	pathParam := regexp.MustCompile(`\{[^}]+\}`)
	documented := map[string]bool{}
	for path := range c.Model.Paths.PathItems.KeysFromOldest() {
		if strings.HasPrefix(path, "/v1/") {
			documented[pathParam.ReplaceAllString(strings.TrimPrefix(path, "/v1"), ":id")] = true
		}
	}
	routes := append(s.routes(), route{path: "/openapi.yaml"}, route{path: "/openapi.json"})
	for _, r := range routes {
		if !documented[r.path] {
			t.Errorf("route /v1%s is not in the document (query/openapi.yaml)", r.path)
			continue
		}
		delete(documented, r.path)
		var item *v3.PathItem
		for path, it := range c.Model.Paths.PathItems.FromOldest() {
			if pathParam.ReplaceAllString(path, ":id") == "/v1"+r.path {
				item = it
			}
		}
		if ops := item.GetOperations(); ops.Len() != 1 || item.Get == nil {
			t.Errorf("/v1%s: the document declares %d operations, want GET only", r.path, ops.Len())
		}
		var query, inPath []string
		for _, p := range item.Get.Parameters {
			switch p.In {
			case "query":
				query = append(query, p.Name)
			case "path":
				inPath = append(inPath, p.Name)
			}
		}
		if want := slices.Sorted(slices.Values(r.params)); !slices.Equal(slices.Sorted(slices.Values(query)), want) {
			t.Errorf("/v1%s: the document's query parameters %v, the route takes %v: update query/openapi.yaml", r.path, query, want)
		}
		if len(inPath) != min(1, len(r.idName)) {
			t.Errorf("/v1%s: path parameters %v, route id %q", r.path, inPath, r.idName)
		}
	}
	for path := range documented {
		t.Errorf("the document has /v1%s, which the API does not serve", path)
	}
}

// TestOpenAPIVocabularies: the document's closed sets are the code's.
func TestOpenAPIVocabularies(t *testing.T) {
	t.Parallel()
	c := openapitest.Load(t, openAPIYAML)
	enum := func(name string) []string {
		s := c.Model.Components.Schemas.GetOrZero(name)
		if s == nil {
			t.Fatalf("no schema %s", name)
		}
		var out []string
		for _, n := range s.Schema().Enum {
			out = append(out, n.Value)
		}
		return out
	}
	param := func(path, name string) []string {
		for _, p := range c.Model.Paths.PathItems.GetOrZero(path).Get.Parameters {
			if p.Name == name {
				var out []string
				for _, n := range p.Schema.Schema().Enum {
					out = append(out, n.Value)
				}
				return out
			}
		}
		t.Fatalf("%s takes no %s", path, name)
		return nil
	}
	var reasons []string
	for _, r := range schema.Reasons {
		reasons = append(reasons, string(r))
	}
	for _, tc := range []struct {
		name      string
		doc, code []string
	}{
		{"Provider", enum("Provider"), slices.Sorted(slices.Values(providers.All().Names()))},
		{"MessageStatus", enum("MessageStatus"), storage.MessageStatuses()},
		{"CallStatus", enum("CallStatus"), storage.CallStatuses()},
		{"Reason", enum("Reason"), reasons},
		{"Verdict", enum("Verdict"), []string{string(schema.VerdictAccepted), string(schema.VerdictRejected)}},
		{"interval", param("/v1/stats/messages", "interval"), []string{string(storage.IntervalHour), string(storage.IntervalDay)}},
		{"group_by", param("/v1/stats/messages", "group_by"), []string{string(storage.GroupByProvider), string(storage.GroupBySource)}},
	} {
		if !slices.Equal(tc.doc, tc.code) {
			t.Errorf("%s: the document lists %v, the code %v", tc.name, tc.doc, tc.code)
		}
	}
}

// TestOpenAPIServed: the query API serves the document without a token,
// as YAML and JSON, and refuses a parameter like every route.
func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	for _, tc := range []struct {
		path, contentType string
		status            int
	}{
		{"/v1/openapi.yaml", "application/yaml", http.StatusOK},
		{"/v1/openapi.json", "application/json", http.StatusOK},
		{"/v1/openapi.json?pretty=1", "application/json", http.StatusBadRequest},
	} {
		rec := httptest.NewRecorder()
		a.e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if rec.Code != tc.status || rec.Header().Get("Content-Type") != tc.contentType {
			t.Errorf("GET %s: %d %q, want %d %q", tc.path, rec.Code, rec.Header().Get("Content-Type"), tc.status, tc.contentType)
			continue
		}
		if tc.status != http.StatusOK {
			continue
		}
		if c := openapitest.Load(t, rec.Body.Bytes()); len(c.Operations()) == 0 {
			t.Errorf("GET %s: a document without operations", tc.path)
		}
	}
}
