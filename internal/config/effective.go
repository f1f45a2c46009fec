package config

import (
	"bytes"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Redacted stands for a secret value in Effective's output.
const Redacted = "<redacted>"

// Effective renders c as YAML: every default and environment override
// applied, every value tagged secret replaced by Redacted (a URL keeps
// everything but its password). block returns a source's provider block
// decoded into its provider's settings, defaults applied; its own secret
// tags are honoured the same way. The output never holds a secret value.
func Effective(c *Config, block func(Source) (any, error)) ([]byte, error) {
	root, err := renderStruct(reflect.ValueOf(*c), block)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("config: effective: %w", err)
	}
	return out.Bytes(), enc.Close()
}

func renderStruct(v reflect.Value, block func(Source) (any, error)) (*yaml.Node, error) {
	m := &yaml.Node{Kind: yaml.MappingNode}
	if err := renderFields(m, v, block); err != nil {
		return nil, err
	}
	return m, nil
}

func renderFields(m *yaml.Node, v reflect.Value, block func(Source) (any, error)) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" && opts == "inline" {
			if err := renderFields(m, v.Field(i), block); err != nil {
				return err
			}
			continue
		}
		val, err := renderValue(v.Field(i), f.Tag.Get(tagSecret), block)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: name}, val)
	}
	return nil
}

func renderValue(v reflect.Value, secret string, block func(Source) (any, error)) (*yaml.Node, error) {
	t := v.Type()
	switch {
	case t == reflect.TypeOf(Source{}):
		return renderSource(v.Interface().(Source), block)
	case isDuration(t):
		return scalar(time.Duration(v.Int()).String()), nil
	case t.Kind() == reflect.Struct:
		return renderStruct(v, block)
	case t.Kind() == reflect.Slice:
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		for i := 0; i < v.Len(); i++ {
			item, err := renderValue(v.Index(i), secret, block)
			if err != nil {
				return nil, err
			}
			seq.Content = append(seq.Content, item)
		}
		return seq, nil
	case t.Kind() == reflect.String:
		return scalar(redact(v.String(), secret)), nil
	}
	n := &yaml.Node{}
	if err := n.Encode(v.Interface()); err != nil {
		return nil, err
	}
	return n, nil
}

func renderSource(s Source, block func(Source) (any, error)) (*yaml.Node, error) {
	m, err := renderStruct(reflect.ValueOf(s), block)
	if err != nil || s.Provider == "" {
		return m, err
	}
	settings, err := block(s)
	if err != nil {
		return nil, err
	}
	inner, err := renderValue(reflect.Indirect(reflect.ValueOf(settings)), "", block)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.SettingsPath, err)
	}
	m.Content = append(m.Content, scalar(s.Provider), inner)
	return m, nil
}

// scalar is a string node that reads back as the same string.
func scalar(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

// redact applies a secret tag to a value; an empty value stays empty, so
// the output still shows that nothing is set.
func redact(value, secret string) string {
	switch {
	case value == "" || secret == "":
		return value
	case secret == "url":
		u, err := url.Parse(value)
		if err != nil {
			return Redacted // unparsable: it may hold anything
		}
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "redacted")
		}
		q := u.Query()
		for name := range q {
			if strings.Contains(strings.ToLower(name), "password") || strings.Contains(strings.ToLower(name), "secret") {
				q.Set(name, "redacted")
				u.RawQuery = q.Encode()
			}
		}
		return u.String()
	}
	return Redacted
}
