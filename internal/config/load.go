package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts every environment override: HOOKLEDGER_ + the upper-cased
// YAML path with "_" between parts, e.g. HOOKLEDGER_CLICKHOUSE_DSN or
// HOOKLEDGER_SOURCES_0_VONAGE_MAX_AGE. A list of scalars is overridden by a
// comma-separated value (HOOKLEDGER_KAFKA_BROKERS=a:9092,b:9092).
const EnvPrefix = "HOOKLEDGER_"

// Option adjusts how a config is loaded.
type Option func(*options)

type options struct {
	providers []string
}

// WithProviders names the registered providers: a source whose provider is
// not one of them is an error at load, with the nearest name suggested,
// rather than when its verifier is built.
func WithProviders(names []string) Option {
	return func(o *options) { o.providers = names }
}

// Load reads the file at path (no file when path is empty) and applies
// defaults, ${ENV} expansion, env overrides and validation. lookupEnv is
// os.LookupEnv outside tests. Errors name the key's path and its line in
// the file (or the variable that set it), never the value.
func Load(path string, lookupEnv func(string) (string, bool), opts ...Option) (*Config, error) {
	var file []byte
	if path != "" {
		var err error
		if file, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	return parse(path, file, lookupEnv, opts)
}

// Parse is Load for a document already in memory.
func Parse(doc []byte, lookupEnv func(string) (string, bool), opts ...Option) (*Config, error) {
	return parse("", doc, lookupEnv, opts)
}

// parse loads doc; file names it in errors ("" for none).
func parse(file string, doc []byte, lookupEnv func(string) (string, bool), opts []Option) (*Config, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	tree, err := defaultsTree()
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(doc)) > 0 {
		var fileDoc yaml.Node
		if err := yaml.Unmarshal(doc, &fileDoc); err != nil {
			// yaml.v3's syntax errors name a line, never a value.
			return nil, fmt.Errorf("config: %s%w", filePrefix(file), err)
		}
		if len(fileDoc.Content) == 1 {
			if fileDoc.Content[0].Kind != yaml.MappingNode {
				return nil, fmt.Errorf("config: %sthe document must be a mapping", filePrefix(file))
			}
			merge(tree, fileDoc.Content[0])
		}
	}
	lines := lineIndex(tree)
	if err := walkScalars(tree, "", func(path string, n *yaml.Node) error {
		return expandSecrets(path, n, lookupEnv)
	}); err != nil {
		return nil, fmt.Errorf("config: %w", annotate(err, file, lines, nil))
	}
	addOptionalSourceKeys(tree)
	known := map[string]bool{}
	envPaths := map[string]string{}
	applyEnv(tree, "", "", func(name string) (string, bool) {
		known[name] = true
		return lookupEnv(name)
	}, func(path, name string) { envPaths[path] = name })

	d := &decoder{env: envPaths, providers: o.providers}
	var cfg Config
	d.decode(tree, reflect.ValueOf(&cfg).Elem(), "")
	if err := d.err(); err != nil {
		return nil, fmt.Errorf("config: %w", annotate(err, file, lines, envPaths))
	}
	for i := range cfg.Sources {
		cfg.Sources[i].file = file
	}
	cfg.envNames = known
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", annotate(err, file, lines, envPaths))
	}
	return &cfg, nil
}

func filePrefix(file string) string {
	if file == "" {
		return ""
	}
	return file + ": "
}

// lineIndex maps the path of every key and list item of the tree to its
// line in the file; keys that come from the defaults are left out.
func lineIndex(tree *yaml.Node) map[string]int {
	lines := map[string]int{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := joinPath(path, k.Value)
				if line := max(k.Line, v.Line); line > 0 {
					lines[p] = line
				}
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if c.Line > 0 {
					lines[p] = c.Line
				}
				walk(c, p)
			}
		}
	}
	walk(tree, "")
	return lines
}

// annotate gives every FieldError in err that has no position yet the
// line of its key (or the variable that set it, from env), and the file.
func annotate(err error, file string, lines map[string]int, env map[string]string) error {
	eachFieldError(err, func(e *FieldError) {
		e.File = file
		if e.Line == 0 && e.Env == "" {
			e.Env = envFor(e.Field, env)
			if e.Env == "" {
				e.Line = lineFor(e.Field, lines)
			}
		}
	})
	return err
}

// eachFieldError calls fn for every FieldError in err's tree, through
// wrapping and joined errors.
func eachFieldError(err error, fn func(*FieldError)) {
	switch e := err.(type) {
	case *FieldError:
		fn(e)
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			eachFieldError(inner, fn)
		}
	case interface{ Unwrap() error }:
		eachFieldError(e.Unwrap(), fn)
	}
}

// lineFor is the line of path, else of its nearest ancestor that has one
// (a list written on one line, a key whose value came from the defaults).
func lineFor(path string, lines map[string]int) int {
	for path != "" {
		if line, ok := lines[path]; ok {
			return line
		}
		path = parentPath(path)
	}
	return 0
}

// envFor is the variable that set path or the list it is an item of.
func envFor(path string, env map[string]string) string {
	if name, ok := env[path]; ok {
		return name
	}
	if i := strings.LastIndexByte(path, '['); i > 0 && strings.HasSuffix(path, "]") {
		return env[path[:i]]
	}
	return ""
}

func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// addOptionalSourceKeys gives every source the optional keys the file may
// leave out, so that an environment variable can still set them
// (HOOKLEDGER_SOURCES_0_PUBLIC_URL): overrides apply to keys in the tree.
func addOptionalSourceKeys(tree *yaml.Node) {
	i := mappingIndex(tree, "sources")
	if i < 0 || tree.Content[i+1].Kind != yaml.SequenceNode {
		return
	}
	for _, src := range tree.Content[i+1].Content {
		if src.Kind == yaml.MappingNode && mappingIndex(src, "public_url") < 0 {
			src.Content = append(src.Content,
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "public_url"},
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "", Style: yaml.DoubleQuotedStyle})
		}
	}
}

var errorLine = regexp.MustCompile(`^line (\d+): (.*)$`)

func defaultsTree() (*yaml.Node, error) {
	b, err := yaml.Marshal(Defaults())
	if err != nil {
		return nil, fmt.Errorf("config: defaults: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("config: defaults: %w", err)
	}
	// Line 0 marks a node as a default: only the file's nodes have lines.
	var unline func(n *yaml.Node)
	unline = func(n *yaml.Node) {
		n.Line, n.Column = 0, 0
		for _, c := range n.Content {
			unline(c)
		}
	}
	unline(doc.Content[0])
	return doc.Content[0], nil
}

// merge lays over onto base: mappings merge key by key, anything else is
// replaced whole.
func merge(base, over *yaml.Node) {
	for i := 0; i+1 < len(over.Content); i += 2 {
		key, val := over.Content[i], over.Content[i+1]
		j := mappingIndex(base, key.Value)
		switch {
		case j < 0:
			base.Content = append(base.Content, key, val)
		case base.Content[j+1].Kind == yaml.MappingNode && val.Kind == yaml.MappingNode:
			merge(base.Content[j+1], val)
		default:
			base.Content[j+1] = val
		}
	}
}

func mappingIndex(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

func walkScalars(n *yaml.Node, path string, fn func(path string, n *yaml.Node) error) error {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := walkScalars(n.Content[i+1], joinPath(path, n.Content[i].Value), fn); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if err := walkScalars(c, fmt.Sprintf("%s[%d]", path, i), fn); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		return fn(path, n)
	}
	return nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var secretRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandSecrets replaces ${NAME} with the environment variable NAME. An
// unset variable is an error: silently signing with an empty secret would
// reject every genuine callback.
func expandSecrets(path string, n *yaml.Node, lookupEnv func(string) (string, bool)) error {
	if !strings.Contains(n.Value, "${") {
		return nil
	}
	var missing []string
	n.Value = secretRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
		name := ref[2 : len(ref)-1]
		v, ok := lookupEnv(name)
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return fieldErr(path, "environment variable %s is not set", strings.Join(missing, ", "))
	}
	n.Style = yaml.DoubleQuotedStyle // keep an expanded secret a string even if it looks like a number
	n.Tag = "!!str"
	return nil
}

// applyEnv overrides scalars and lists of scalars from HOOKLEDGER_*
// variables; set is told the YAML path and the variable of each override.
func applyEnv(n *yaml.Node, path, envPath string, lookupEnv func(string) (string, bool), set func(path, name string)) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			applyEnv(n.Content[i+1], joinPath(path, key), joinEnv(envPath, key), lookupEnv, set)
		}
	case yaml.SequenceNode:
		if v, ok := lookupEnv(EnvPrefix + envPath); ok && allScalars(n) {
			n.Content = nil
			n.Style = 0
			for _, item := range strings.Split(v, ",") {
				if item = strings.TrimSpace(item); item != "" {
					n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: item})
				}
			}
			set(path, EnvPrefix+envPath)
			return
		}
		for i, c := range n.Content {
			applyEnv(c, fmt.Sprintf("%s[%d]", path, i), joinEnv(envPath, strconv.Itoa(i)), lookupEnv, set)
		}
	case yaml.ScalarNode:
		if v, ok := lookupEnv(EnvPrefix + envPath); ok {
			n.Value = v
			n.Tag = "" // let the target field's type decide
			n.Style = 0
			if n.Value == "" {
				n.Style = yaml.DoubleQuotedStyle
			}
			set(path, EnvPrefix+envPath)
		}
	}
}

func allScalars(n *yaml.Node) bool {
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode {
			return false
		}
	}
	return true
}

var envUnsafe = regexp.MustCompile(`[^A-Z0-9]+`)

func joinEnv(path, key string) string {
	key = envUnsafe.ReplaceAllString(strings.ToUpper(key), "_")
	if path == "" {
		return key
	}
	return path + "_" + key
}

// toolEnv are HOOKLEDGER_ variables read by scripts, tests and the cli
// (HOOKLEDGER_PPROF, HOOKLEDGER_BENCH_QUERY_TOKEN), not config.
var toolEnv = []string{
	"HOOKLEDGER_TEST_", "HOOKLEDGER_CACHE_DIR", "HOOKLEDGER_CLICKHOUSE_DIR", "HOOKLEDGER_CLICKHOUSE_PORT",
	"HOOKLEDGER_PPROF", "HOOKLEDGER_BENCH_", "HOOKLEDGER_CHROMIUM", "HOOKLEDGER_CONSOLE_SCREENSHOTS",
}

// UnknownEnv lists the HOOKLEDGER_* variables in environ (os.Environ's
// form) that override nothing: usually a misspelling, or a key the file does
// not contain inside a list (overrides apply to keys that exist).
func (c *Config) UnknownEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) || c.envNames[name] {
			continue
		}
		tool := false
		for _, prefix := range toolEnv {
			tool = tool || strings.HasPrefix(name, prefix)
		}
		if !tool {
			out = append(out, name)
		}
	}
	return out
}

// DecodeSettings decodes the provider block strictly: an unknown key (a
// typo such as "max_skwe") is an error that suggests the nearest valid
// key, and every error names the key's full path and its line in the file,
// never the value.
func (s Source) DecodeSettings(into any) error {
	v := reflect.ValueOf(into)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return fmt.Errorf("%s: decode settings into a non-pointer %T", s.SettingsPath, into)
	}
	if s.Settings.Kind == 0 {
		return nil
	}
	d := &decoder{env: s.env}
	d.decode(&s.Settings, v.Elem(), s.SettingsPath)
	return annotate(d.err(), s.file, nil, nil)
}

// SettingsError places an error from building the source's verifier: the
// FieldErrors of DecodeSettings are returned as they are (without what the
// provider wrapped around them); any other error is placed at the
// provider block, or at its key when the message starts with one
// ("max_skew: must not be negative").
func (s Source) SettingsError(err error) error {
	if fes := fieldErrors(err); len(fes) > 0 {
		return errors.Join(fes...)
	}
	field, line, msg := s.SettingsPath, s.Settings.Line, err.Error()
	if sub, rest, ok := strings.Cut(msg, ": "); ok && s.Settings.Kind == yaml.MappingNode {
		key := sub[:len(sub)-len(strings.TrimLeft(sub, "abcdefghijklmnopqrstuvwxyz_0123456789"))]
		for _, kv := range pairs(&s.Settings) {
			if kv[0].Value == key && key != "" {
				field, line, msg = joinPath(s.SettingsPath, sub), kv[0].Line, rest
				break
			}
		}
	}
	fe := &FieldError{Field: field, File: s.file, Env: s.env[field], Err: errors.New(msg)}
	if fe.Env == "" {
		fe.Line = line
	}
	return fe
}

// fieldErrors collects every FieldError in err's tree.
func fieldErrors(err error) []error {
	var out []error
	eachFieldError(err, func(e *FieldError) { out = append(out, e) })
	return out
}
