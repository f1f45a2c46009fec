package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder decodes a YAML tree into Go values key by key, so that every
// error names the key's path and the line of the file it is on, instead of
// yaml.v3's messages, which name Go types ("field ingset not found in type
// config.Config") and quote the offending value (a secret put in the wrong
// field would be printed). Unknown keys are errors that suggest the nearest
// valid key.
//
// Line numbers are those of the file: nodes that come from the defaults
// have line 0, and a value set by an environment variable is named by the
// variable (env, by path) instead.
type decoder struct {
	env       map[string]string // path → the HOOKLEDGER_ variable that set it
	providers []string          // known provider names; nil: not checked
	errs      []error
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// fail records an error at path, positioned at n.
func (d *decoder) fail(path string, n *yaml.Node, err error) {
	fe := &FieldError{Field: path, Err: err, Env: d.env[path]}
	if fe.Env == "" && n != nil {
		fe.Line = n.Line
	}
	d.errs = append(d.errs, fe)
}

// err joins the errors in the order of their lines in the file (those
// without a line last).
func (d *decoder) err() error {
	sort.SliceStable(d.errs, func(i, j int) bool {
		li, lj := d.errs[i].(*FieldError).Line, d.errs[j].(*FieldError).Line
		return li > 0 && (lj == 0 || li < lj)
	})
	return errors.Join(d.errs...)
}

// resolve follows aliases (*name) to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// decode stores n in v (addressable), at path.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	n = resolve(n)
	if n == nil {
		return
	}
	if reflect.PointerTo(v.Type()).Implements(unmarshalerType) {
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.failOwn(path, n, err)
		}
		return
	}
	switch {
	case v.Type() == reflect.TypeFor[Source]():
		d.source(n, v.Addr().Interface().(*Source), path)
	case v.Kind() == reflect.Struct:
		d.mapping(n, v, path)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		d.list(n, v, path)
	default:
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(path, n, cleanError(err, v.Type()))
		}
	}
}

// mapping decodes a YAML mapping into the struct v, by yaml tags.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(path, n, errors.New("expected a mapping of keys"))
		return
	}
	fields := yamlFields(v.Type())
	for _, kv := range pairs(n) {
		key := kv[0].Value
		p := joinPath(path, key)
		index, ok := fields[key]
		if !ok {
			d.fail(p, kv[0], unknownKey(key, keysOf(fields)))
			continue
		}
		d.decode(kv[1], v.FieldByIndex(index), p)
	}
}

// list decodes a YAML sequence into the slice of structs v.
func (d *decoder) list(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		v.SetZero()
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(path, n, errors.New("expected a list"))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(s)
}

// sourceKeys are the keys of a source besides its provider block.
var sourceKeys = []string{"id", "provider", "tenant", "public_url"}

// source decodes one sources[] item: its own keys, and the mapping under
// the provider's name, kept for the provider to decode. A key that is
// neither is explained by what it is closest to: a misspelt key, or a
// provider block whose name does not match the provider.
func (d *decoder) source(n *yaml.Node, s *Source, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(path, n, errors.New("expected a mapping (a source)"))
		return
	}
	kvs := pairs(n)
	strs := map[string]*string{"id": &s.ID, "provider": &s.Provider, "tenant": &s.Tenant, "public_url": &s.PublicURL}
	var providerNode *yaml.Node
	for _, kv := range kvs {
		if dst, ok := strs[kv[0].Value]; ok {
			d.decode(kv[1], reflect.ValueOf(dst).Elem(), joinPath(path, kv[0].Value))
			if kv[0].Value == "provider" {
				providerNode = kv[0]
			}
		}
	}
	knownProvider := d.providers == nil || contains(d.providers, s.Provider)
	if !knownProvider && s.Provider != "" {
		d.fail(joinPath(path, "provider"), providerNode, d.unknownProvider(s.Provider, kvs))
	}
	for _, kv := range kvs {
		key := kv[0].Value
		switch {
		case strs[key] != nil:
		case key == s.Provider:
			s.Settings = *resolve(kv[1])
		case !knownProvider && contains(d.providers, key):
			// Reported with the unknown provider.
		default:
			d.fail(joinPath(path, key), kv[0], d.strayKey(key, s.Provider))
		}
	}
	s.SettingsPath = joinPath(path, s.Provider)
	s.env = d.env
}

// unknownProvider explains a provider name that is not registered,
// suggesting the provider block the source does have, else the nearest
// name.
func (d *decoder) unknownProvider(name string, kvs [][2]*yaml.Node) error {
	for _, kv := range kvs {
		if contains(d.providers, kv[0].Value) {
			return fmt.Errorf("unknown provider; did you mean %q, the name of the settings block on line %d? (known: %s)",
				kv[0].Value, kv[0].Line, strings.Join(d.providers, ", "))
		}
	}
	if near := nearest(name, d.providers); near != "" {
		return fmt.Errorf("unknown provider; did you mean %q? (known: %s)", near, strings.Join(d.providers, ", "))
	}
	return fmt.Errorf("unknown provider (known: %s)", strings.Join(d.providers, ", "))
}

// strayKey explains a source key that is neither one of sourceKeys nor the
// block of the source's provider.
func (d *decoder) strayKey(key, provider string) error {
	if near := nearest(key, sourceKeys); near != "" {
		return fmt.Errorf("unknown key; did you mean %q?", near)
	}
	if d.providers != nil && contains(d.providers, key) {
		return fmt.Errorf("unknown key: the settings block of a %s source is named %q", provider, provider)
	}
	if provider == "" {
		return fmt.Errorf("unknown key: set provider, and name its settings block after it")
	}
	if d.providers == nil && nearest(key, []string{provider}) != "" {
		// Which of the two is misspelt is the provider registry's to say.
		return fmt.Errorf("unknown key: does not match provider %q; the settings block is named after the provider", provider)
	}
	return fmt.Errorf("unknown key (valid: %s, and the %q settings block)", strings.Join(sourceKeys, ", "), provider)
}

// pairs lists a mapping's key/value pairs, with YAML merge keys
// (<<: *base) expanded; a key written in the mapping wins over a merged
// one.
func pairs(n *yaml.Node) [][2]*yaml.Node { return mergedPairs(n, map[*yaml.Node]bool{}) }

// mergedPairs is pairs; seen holds the mappings being expanded, so a merge
// key that refers to its own mapping ends instead of recursing forever.
func mergedPairs(n *yaml.Node, seen map[*yaml.Node]bool) [][2]*yaml.Node {
	seen[n] = true
	defer delete(seen, n)
	var merged, own [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value != "<<" || k.Tag != "!!merge" {
			own = append(own, [2]*yaml.Node{k, v})
			continue
		}
		v = resolve(v)
		bases := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			bases = v.Content
		}
		for _, b := range bases {
			if b = resolve(b); b != nil && b.Kind == yaml.MappingNode && !seen[b] {
				merged = append(merged, mergedPairs(b, seen)...)
			}
		}
	}
	written := map[string]bool{}
	for _, kv := range own {
		written[kv[0].Value] = true
	}
	out := own
	for _, kv := range merged {
		if !written[kv[0].Value] {
			written[kv[0].Value] = true
			out = append(out, kv)
		}
	}
	return out
}

// yamlFields maps a struct's YAML keys to field indexes, inline structs
// flattened.
func yamlFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if opts == "inline" && f.Type.Kind() == reflect.Struct {
			for k, idx := range yamlFields(f.Type) {
				out[k] = append([]int{i}, idx...)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = []int{i}
	}
	return out
}

func keysOf(m map[string][]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// unknownKey explains a key the struct does not have.
func unknownKey(key string, valid []string) error {
	if near := nearest(key, valid); near != "" {
		return fmt.Errorf("unknown key; did you mean %q?", near)
	}
	return fmt.Errorf("unknown key (valid: %s)", strings.Join(valid, ", "))
}

// failOwn records the error of a value's own decoder (yaml.Unmarshaler).
// Such decoders name their key and line themselves ("signing_keys[1]:
// expected a string (line 7)"), for use outside this package: the key is
// folded into the path and the line taken from n or the message.
func (d *decoder) failOwn(path string, n *yaml.Node, err error) {
	var typeErr *yaml.TypeError
	if errors.As(err, &typeErr) {
		d.fail(path, n, errors.New("expected a value of another type"))
		return
	}
	msg := err.Error()
	line := n.Line
	if m := errorLine.FindStringSubmatch(msg); m != nil {
		msg = m[2]
	}
	if m := trailingLine.FindStringSubmatch(msg); m != nil {
		msg = m[1]
		line, _ = strconv.Atoi(m[2])
	}
	key := path[strings.LastIndexAny(path, ".]")+1:]
	if rest, ok := strings.CutPrefix(msg, key); ok && key != "" {
		if sub, m, ok := strings.Cut(rest, ": "); ok && (sub == "" || strings.HasPrefix(sub, "[")) {
			path, msg = path+sub, m
		}
	}
	at := *n
	at.Line = line
	d.fail(path, &at, errors.New(msg))
}

var trailingLine = regexp.MustCompile(`^(.*) \(line (\d+)\)$`)

// cleanError turns a decode error for a value of type t into one that says
// what was expected and never quotes the value. Errors of the values' own
// decoders (yaml.Unmarshaler) are kept, less any "line N:" prefix: the
// FieldError carries the line.
func cleanError(err error, t reflect.Type) error {
	var typeErr *yaml.TypeError
	if !errors.As(err, &typeErr) {
		return errors.New(errorLine.ReplaceAllString(err.Error(), "$2"))
	}
	return errors.New("expected " + expected(t))
}

// expected describes what a value of type t is written as.
func expected(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return "a duration such as 5m, 90s or 0s"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "a whole number"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Slice:
		return "a list of " + strings.TrimPrefix(expected(t.Elem()), "a ") + "s"
	case t.Kind() == reflect.Map || t.Kind() == reflect.Struct:
		return "a mapping of keys"
	}
	return t.Kind().String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// nearest returns the candidate closest to s by edit distance, when it is
// close enough to be a likely misspelling (at most 2 edits, and fewer than
// half of s), else "".
func nearest(s string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestDist && 2*d < max(len(s), len(c)) {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Damerau-Levenshtein distance (optimal string
// alignment: insertions, deletions, substitutions and transpositions of
// adjacent bytes).
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
