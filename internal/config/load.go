package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
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

// Load reads the file at path (no file when path is empty) and applies
// defaults, ${ENV} expansion, env overrides and validation. lookupEnv is
// os.LookupEnv outside tests.
func Load(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	var file []byte
	if path != "" {
		var err error
		if file, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	return Parse(file, lookupEnv)
}

// Parse is Load for a document already in memory.
func Parse(doc []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
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
			return nil, fmt.Errorf("config: %w", err)
		}
		if len(fileDoc.Content) == 1 {
			if fileDoc.Content[0].Kind != yaml.MappingNode {
				return nil, errors.New("config: the document must be a mapping")
			}
			merge(tree, fileDoc.Content[0])
		}
	}
	if err := walkScalars(tree, "", func(path string, n *yaml.Node) error {
		return expandSecrets(path, n, lookupEnv)
	}); err != nil {
		return nil, err
	}
	addOptionalSourceKeys(tree)
	known := map[string]bool{}
	applyEnv(tree, "", func(name string) (string, bool) {
		known[name] = true
		return lookupEnv(name)
	})

	cfg, err := decodeTree(tree)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	for i := range cfg.Sources {
		cfg.Sources[i].SettingsPath = fmt.Sprintf("sources[%d].%s", i, cfg.Sources[i].Provider)
	}
	cfg.envNames = known
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
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

// decodeTree decodes the merged tree strictly (unknown keys are errors).
// The tree is decoded through its YAML text, the only way to get yaml.v3's
// KnownFields; the text is laid out one key per line so that a decode
// error's line number names exactly one path, which the error then carries
// instead of a line of a document the user never wrote.
func decodeTree(tree *yaml.Node) (*Config, error) {
	blockStyle(tree)
	merged, err := yaml.Marshal(tree)
	if err != nil {
		return nil, err
	}
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(merged))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return nil, namePaths(err, merged, "")
	}
	return &cfg, nil
}

// blockStyle drops flow style ({a: 1}, [x]) from every collection.
func blockStyle(n *yaml.Node) {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		n.Style &^= yaml.FlowStyle
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}

var errorLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// namePaths turns "line N: ..." decode errors on text (yaml.v3's, and
// Source.UnmarshalYAML's) into FieldErrors naming the config path written
// on line N, below prefix. A message whose line names no path stays as it
// is, under prefix when there is one.
func namePaths(err error, text []byte, prefix string) error {
	msgs := []string{err.Error()}
	var typeErr *yaml.TypeError
	if errors.As(err, &typeErr) {
		msgs = typeErr.Errors
	}
	pathAt := map[int]string{}
	var doc yaml.Node
	if yaml.Unmarshal(text, &doc) == nil && len(doc.Content) == 1 {
		walkKeys(doc.Content[0], prefix, func(path string, line int) { pathAt[line] = path })
	}
	errs := make([]error, 0, len(msgs))
	for _, msg := range msgs {
		field, detail := prefix, msg
		if m := errorLine.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			if path, ok := pathAt[line]; ok {
				field, detail = path, m[2]
			}
		}
		if field == "" {
			errs = append(errs, errors.New(detail))
		} else {
			errs = append(errs, &FieldError{Field: field, Err: errors.New(detail)})
		}
	}
	return errors.Join(errs...)
}

// walkKeys calls fn with the path and line of every mapping key and every
// sequence item.
func walkKeys(n *yaml.Node, path string, fn func(path string, line int)) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := joinPath(path, n.Content[i].Value)
			fn(p, n.Content[i].Line)
			walkKeys(n.Content[i+1], p, fn)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			fn(p, c.Line)
			walkKeys(c, p, fn)
		}
	}
}

func defaultsTree() (*yaml.Node, error) {
	b, err := yaml.Marshal(Defaults())
	if err != nil {
		return nil, fmt.Errorf("config: defaults: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("config: defaults: %w", err)
	}
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

// applyEnv overrides scalars and lists of scalars from HOOKLEDGER_* variables.
func applyEnv(n *yaml.Node, path string, lookupEnv func(string) (string, bool)) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			applyEnv(n.Content[i+1], joinEnv(path, n.Content[i].Value), lookupEnv)
		}
	case yaml.SequenceNode:
		if v, ok := lookupEnv(EnvPrefix + path); ok && allScalars(n) {
			n.Content = nil
			n.Style = 0
			for _, item := range strings.Split(v, ",") {
				if item = strings.TrimSpace(item); item != "" {
					n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: item})
				}
			}
			return
		}
		for i, c := range n.Content {
			applyEnv(c, joinEnv(path, strconv.Itoa(i)), lookupEnv)
		}
	case yaml.ScalarNode:
		if v, ok := lookupEnv(EnvPrefix + path); ok {
			n.Value = v
			n.Tag = "" // let the target field's type decide
			n.Style = 0
			if n.Value == "" {
				n.Style = yaml.DoubleQuotedStyle
			}
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

// toolEnv are HOOKLEDGER_ variables read by scripts and tests, not config.
var toolEnv = []string{"HOOKLEDGER_TEST_", "HOOKLEDGER_CACHE_DIR", "HOOKLEDGER_CLICKHOUSE_DIR", "HOOKLEDGER_CLICKHOUSE_PORT"}

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

// UnmarshalYAML decodes a source and keeps its provider block (the mapping
// under the provider's name) for the provider package to decode.
func (s *Source) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a source must be a mapping", n.Line)
	}
	fields := map[string]*string{"id": &s.ID, "provider": &s.Provider, "tenant": &s.Tenant, "public_url": &s.PublicURL}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if dst, ok := fields[n.Content[i].Value]; ok {
			if err := n.Content[i+1].Decode(dst); err != nil {
				return err
			}
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i].Value
		if _, ok := fields[key]; ok {
			continue
		}
		if key != s.Provider {
			return fmt.Errorf("line %d: source %q: unknown key %q (the provider block must be named %q)", n.Content[i].Line, s.ID, key, s.Provider)
		}
		s.Settings = *n.Content[i+1]
	}
	return nil
}

// DecodeSettings decodes the provider block strictly: an unknown key (a
// typo such as "max_skwe") is an error rather than a silently ignored
// setting.
func (s Source) DecodeSettings(into any) error {
	// The block came from decodeTree's one-key-per-line text, so it
	// re-marshals one key per line too, as namePaths needs.
	b, err := yaml.Marshal(&s.Settings)
	if err != nil {
		return fmt.Errorf("%s: %w", s.SettingsPath, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(into); err != nil {
		return namePaths(err, b, s.SettingsPath)
	}
	return nil
}
