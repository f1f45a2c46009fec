package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Struct tags that describe a key beyond its YAML name. They are the one
// source of truth for the reload logic (Reloadable), the redaction of
// `hookledger config check` (Effective) and docs/configuration.md
// (internal/config/gendoc):
//
//	reload:"live"   a reload (SIGHUP, or a saved file) applies the key and
//	                everything below it; any other key needs a restart
//	secret:"true"   the value is a credential and is never printed
//	secret:"url"    the value is a URL whose password is never printed
const (
	tagReload = "reload"
	tagSecret = "secret"
)

// Key is one configuration key as a file spells it.
type Key struct {
	// Path is the YAML path; an item of a list is "[]"
	// ("sources[].tenant", "query.tokens[].name").
	Path string
	// Env is the HOOKLEDGER_* variable that overrides it; an item of a
	// list is "<i>" (HOOKLEDGER_SOURCES_<i>_TENANT).
	Env string
	// Type is the value's kind in YAML terms: string, integer, number,
	// boolean, duration, list of strings, mapping, list of mappings.
	Type string
	// Default is the value an omitted key takes, formatted as YAML; empty
	// for a key inside a list item, which has no default item.
	Default string
	// Secret is "true" or "url" (see the secret tag), else "".
	Secret string
	// Live reports whether a reload applies the key without a restart.
	Live bool
	// Owner and Field name the Go struct field that declares the key, so a
	// documentation generator can find its doc comment.
	Owner reflect.Type
	Field string
}

// Keys lists every key of Config, in field order, with the defaults of
// Defaults. Provider blocks are not fields of Config (each provider
// package decodes its own); see KeysOf.
func Keys() []Key {
	d := Defaults()
	return KeysOf("", EnvPrefix, reflect.ValueOf(d), false)
}

// KeysOf lists the keys of the struct v (a value holding its defaults),
// below the YAML path prefix and the variable name envPrefix. live marks
// every key as reloadable (a block under a reloadable key).
func KeysOf(prefix, envPrefix string, v reflect.Value, live bool) []Key {
	var out []Key
	walkKeysOf(v, v.IsValid(), prefix, envPrefix, live, &out)
	return out
}

func walkKeysOf(v reflect.Value, hasDefault bool, prefix, env string, live bool, out *[]Key) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		fv := v.Field(i)
		fieldLive := live || f.Tag.Get(tagReload) == "live"
		if name == "" && opts == "inline" {
			walkKeysOf(fv, hasDefault, prefix, env, fieldLive, out)
			continue
		}
		path := joinPath(prefix, name)
		envName := env + envUnsafe.ReplaceAllString(strings.ToUpper(name), "_")
		k := Key{
			Path: path, Env: envName, Type: typeName(f.Type),
			Secret: f.Tag.Get(tagSecret), Live: fieldLive, Owner: t, Field: f.Name,
		}
		if hasDefault {
			k.Default = formatDefault(fv)
		}
		*out = append(*out, k)
		switch {
		case f.Type.Kind() == reflect.Struct && !isDuration(f.Type):
			walkKeysOf(fv, hasDefault, path, envName+"_", fieldLive, out)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			walkKeysOf(reflect.Zero(f.Type.Elem()), false, path+"[]", envName+"_<i>_", fieldLive, out)
		}
	}
}

// Reloadable reports whether a reload applies the key at path (a path
// Changed returns) without a restart, as the reload tags say.
func Reloadable(path string) bool {
	for _, k := range Keys() {
		if k.Path == path {
			return k.Live
		}
	}
	return false
}

var durationType = reflect.TypeOf(time.Duration(0))

// isDuration reports a time.Duration or a type defined on it (a provider's
// own Duration with a friendlier decoder).
func isDuration(t reflect.Type) bool {
	return t == durationType || (t.Kind() == reflect.Int64 && t.ConvertibleTo(durationType) && t.Name() == "Duration")
}

func typeName(t reflect.Type) string {
	switch {
	case isDuration(t):
		return "duration"
	case t.Kind() == reflect.Struct:
		return "mapping"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		return "list of mappings"
	case t.Kind() == reflect.Slice:
		return "list of " + typeName(t.Elem()) + "s"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	}
	return t.String()
}

// formatDefault writes a default value as YAML would read it back.
func formatDefault(v reflect.Value) string {
	t := v.Type()
	switch {
	case isDuration(t):
		return time.Duration(v.Int()).String()
	case t.Kind() == reflect.Struct:
		return ""
	case t.Kind() == reflect.Slice:
		items := make([]string, v.Len())
		for i := range items {
			items[i] = formatDefault(v.Index(i))
		}
		return "[" + strings.Join(items, ", ") + "]"
	case t.Kind() == reflect.String:
		return fmt.Sprintf("%q", v.String())
	}
	return fmt.Sprint(v.Interface())
}
