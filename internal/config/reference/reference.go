// Package reference renders docs/configuration.md from the configuration
// types and their doc comments: the core keys of internal/config and the
// provider blocks of each provider package (go/ast over their sources, so
// it needs the repository, not only the binary). Regenerate after changing
// a key, its comment, default or tags:
//
//	go run ./internal/config/gendoc
//
// Check fails while the file and the code differ; the tests of this
// package, internal/config and provider/providers call it.
package reference

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/provider/providers"
)

const modulePath = "github.com/hookledger/hookledger"

// Output is where the document goes, relative to the repository root.
const Output = "docs/configuration.md"

// Check regenerates the document from the sources under root and reports
// whether the committed one differs.
func Check(root string) error {
	want, err := Generate(root)
	if err != nil {
		return err
	}
	got, err := os.ReadFile(filepath.Join(root, Output))
	if err != nil {
		return fmt.Errorf("%w (run `go run ./internal/config/gendoc`)", err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%s is not what the code says: run `go run ./internal/config/gendoc` and commit the result", Output)
	}
	return nil
}

// Generate renders the document from the sources under root.
func Generate(root string) ([]byte, error) {
	docs := &commentIndex{root: root, fields: map[string]*ast.CommentGroup{}, types: map[string]*ast.CommentGroup{}, parsed: map[string]bool{}}
	var b bytes.Buffer
	b.WriteString(intro)
	section := ""
	for _, k := range config.Keys() {
		top, _, _ := strings.Cut(k.Path, ".")
		top, _, _ = strings.Cut(top, "[")
		if top != section {
			section = top
			fmt.Fprintf(&b, "## %s\n\n", top)
		}
		if err := writeKey(&b, docs, k); err != nil {
			return nil, err
		}
		if k.Path == "sources[].public_url" {
			fmt.Fprintf(&b, "### `sources[].<provider>`\n\n%s\n\n", providerBlockText)
		}
	}
	for _, name := range providers.All().Names() {
		settings, ok := providers.Settings(name)
		if !ok {
			return nil, fmt.Errorf("provider %q has no providers.Settings", name)
		}
		v := reflect.ValueOf(settings).Elem()
		fmt.Fprintf(&b, "## sources[].%s\n\n", name)
		text, err := docs.typeDoc(v.Type())
		if err != nil {
			return nil, err
		}
		b.WriteString(text)
		env := config.EnvPrefix + "SOURCES_<i>_" + strings.ToUpper(name) + "_"
		for _, k := range config.KeysOf("sources[]."+name, env, v, true) {
			if err := writeKey(&b, docs, k); err != nil {
				return nil, err
			}
		}
	}
	return b.Bytes(), nil
}

func writeKey(b *bytes.Buffer, docs *commentIndex, k config.Key) error {
	text, err := docs.fieldDoc(k)
	if err != nil {
		return err
	}
	fmt.Fprintf(b, "### `%s`\n\n%s", k.Path, k.Type)
	if k.Default != "" {
		fmt.Fprintf(b, " · default `%s`", k.Default)
	}
	if k.Type != "mapping" && k.Type != "list of mappings" {
		fmt.Fprintf(b, " · `%s`", k.Env)
	}
	if k.Live {
		b.WriteString(" · **reload applies it**")
	} else {
		b.WriteString(" · restart to apply")
	}
	switch k.Secret {
	case "true":
		b.WriteString(" · secret (never printed)")
	case "url":
		b.WriteString(" · its password is never printed")
	}
	b.WriteString("\n\n")
	b.WriteString(text)
	return nil
}

// commentIndex holds the doc comments of struct types and their fields,
// keyed "importpath.Type" and "importpath.Type.Field", parsed on demand.
type commentIndex struct {
	root   string
	fields map[string]*ast.CommentGroup
	types  map[string]*ast.CommentGroup
	parsed map[string]bool
}

func (c *commentIndex) load(pkgPath string) error {
	if c.parsed[pkgPath] {
		return nil
	}
	c.parsed[pkgPath] = true
	rel, ok := strings.CutPrefix(pkgPath, modulePath)
	if !ok {
		return fmt.Errorf("%s is not in module %s", pkgPath, modulePath)
	}
	dir := filepath.Join(c.root, filepath.FromSlash(strings.TrimPrefix(rel, "/")))
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return err
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.TYPE {
				continue
			}
			for _, spec := range gen.Specs {
				ts := spec.(*ast.TypeSpec)
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				typeDoc := ts.Doc
				if typeDoc == nil && len(gen.Specs) == 1 {
					typeDoc = gen.Doc
				}
				c.types[pkgPath+"."+ts.Name.Name] = typeDoc
				for _, field := range st.Fields.List {
					doc := field.Doc
					if doc == nil {
						doc = field.Comment
					}
					for _, n := range field.Names {
						c.fields[pkgPath+"."+ts.Name.Name+"."+n.Name] = doc
					}
				}
			}
		}
	}
	return nil
}

// fieldDoc is the Markdown of a key's field comment, or for a mapping
// without one its type's comment. A key without either is an error: every
// key is documented.
func (c *commentIndex) fieldDoc(k config.Key) (string, error) {
	if err := c.load(k.Owner.PkgPath()); err != nil {
		return "", err
	}
	group := c.fields[k.Owner.PkgPath()+"."+k.Owner.Name()+"."+k.Field]
	if group != nil {
		return markdown(group.Text(), k.Field, k.Path), nil
	}
	field, _ := k.Owner.FieldByName(k.Field)
	t := field.Type
	if t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct && t.PkgPath() != "" {
		if err := c.load(t.PkgPath()); err != nil {
			return "", err
		}
		if g := c.types[t.PkgPath()+"."+t.Name()]; g != nil {
			return markdown(g.Text(), t.Name(), k.Path), nil
		}
	}
	return "", fmt.Errorf("%s (%s.%s) has no doc comment: document it where it is declared", k.Path, k.Owner, k.Field)
}

func (c *commentIndex) typeDoc(t reflect.Type) (string, error) {
	if err := c.load(t.PkgPath()); err != nil {
		return "", err
	}
	g := c.types[t.PkgPath()+"."+t.Name()]
	if g == nil {
		return "", fmt.Errorf("%s has no doc comment", t)
	}
	text := g.Text()
	if rest, ok := strings.CutPrefix(text, "Settings is a source's"); ok {
		text = "A source's" + rest
	}
	return markdown(text, "", ""), nil
}

// markdown renders a doc comment as Markdown, its leading Go name (the
// field or type it documents) replaced by the key's YAML name: lines of a
// paragraph are joined, and indented lines (examples) become a code block.
// The comments are written for readers of both, so nothing is escaped.
func markdown(text, goName, path string) string {
	if goName != "" {
		if rest, ok := strings.CutPrefix(text, goName); ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, ",")) {
			text = "`" + path[strings.LastIndex(path, ".")+1:] + "`" + rest
		}
	}
	var out strings.Builder
	var para []string
	inCode := false
	flush := func() {
		if len(para) > 0 {
			out.WriteString(strings.Join(para, " ") + "\n\n")
			para = nil
		}
	}
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		code := strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "  ")
		switch {
		case code && !inCode:
			flush()
			out.WriteString("```yaml\n")
			inCode = true
		case !code && inCode && line != "":
			out.WriteString("```\n\n")
			inCode = false
		}
		switch {
		case inCode:
			out.WriteString(strings.TrimPrefix(line, "\t") + "\n")
		case line == "":
			flush()
		default:
			para = append(para, strings.TrimSpace(line))
		}
	}
	if inCode {
		out.WriteString("```\n\n")
	}
	flush()
	return out.String()
}

const providerBlockText = "mapping · " + "`HOOKLEDGER_SOURCES_<i>_<PROVIDER>_<KEY>`" + ` · **reload applies it**

The source's provider settings, under a key named after its ` + "`provider`" + `
(` + "`signalwire:`" + ` for a SignalWire source); no other key is allowed. Each
provider's keys are listed below, in its own section.
`

const intro = `# Configuration reference

<!-- Generated by ` + "`go run ./internal/config/gendoc`" + ` from the doc comments,
defaults and struct tags of internal/config and the provider packages. Do
not edit: change the code and regenerate (a test fails while they differ). -->

hookledger reads one YAML file (` + "`--config F`" + `). Every key is optional
and takes the default shown; an unknown key is an error (with the nearest
valid key suggested), and every error names the file, line and key
(` + "`config: hookledger.yaml:7: sources[0].vonage.max_age: must not be negative (got -5m0s)`" + `).
` + "`hookledger config check --config F`" + ` validates a file as a start would
and prints the effective configuration, secrets redacted.

The configuration is built in this order:

1. **Defaults**: the values below.
2. **The file**, merged over the defaults key by key: mappings merge, a
   list or a scalar replaces the default whole.
3. **` + "`${NAME}`" + `** anywhere in a value is replaced by the environment
   variable NAME (write secrets this way). An unset variable fails the
   start naming the key; a set but empty one expands to the empty string.
4. **Overrides**: every key present at this point can be set by its
   environment variable, ` + "`HOOKLEDGER_`" + ` and the upper-cased path with
   ` + "`_`" + ` between parts and list indexes as numbers (any other character
   becomes ` + "`_`" + `). The value is taken literally (no ` + "`${...}`" + `
   expansion) and typed by its key: ` + "`true`/`false`" + `, integers, Go
   durations (` + "`90s`, `5m`, `0s`" + `; a bare number is refused), strings. A
   list of strings takes a comma-separated value
   (` + "`HOOKLEDGER_KAFKA_BROKERS=k1:9092,k2:9092`" + `), or one item by index
   (` + "`HOOKLEDGER_KAFKA_BROKERS_0`" + `). Inside ` + "`sources`" + ` and
   ` + "`query.tokens`" + ` only the items the file has exist, and inside a
   provider block only the keys the file writes
   (` + "`HOOKLEDGER_SOURCES_0_VONAGE_MAX_AGE`" + ` needs
   ` + "`sources[0].vonage.max_age`" + ` in the file; ` + "`public_url`" + ` always
   exists). A ` + "`HOOKLEDGER_*`" + ` variable that overrides nothing is warned
   about at start.
5. **Validation** of every key, then of every provider block and token.

**Reload.** SIGHUP, or saving the file (checked every 2 s), reloads it.
A reload applies the keys marked "reload applies it" — ` + "`sources`" + ` (keys,
secrets, tenants, URLs, added and removed sources), ` + "`query.tokens`" + ` and
` + "`log.level`" + ` — without dropping a request. A file that fails to load
changes nothing. Any other changed key keeps its running value and is
named in a warning (` + "`ingest.listen changed; restart to apply`" + `) at every
reload until a restart. The process environment cannot change while it
runs: a secret held in a variable changes at a restart.

`
