package config

import (
	"bytes"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// Changed lists the YAML paths of the keys whose values differ between a
// and b ("ingest.listen", "log.level", "sources"), in field order. Lists and
// maps are compared whole and named by their own key: a changed source is
// reported as "sources". It never returns values, so it is safe to log.
func Changed(a, b *Config) []string {
	var out []string
	diffStruct(reflect.ValueOf(*a), reflect.ValueOf(*b), "", &out)
	return out
}

func diffStruct(a, b reflect.Value, prefix string, out *[]string) {
	t := a.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		fa, fb := a.Field(i), b.Field(i)
		if f.IsExported() && name == "" && opts == "inline" {
			// Inline fields (ingest.max_connections) are keys of the
			// enclosing mapping.
			diffStruct(fa, fb, prefix, out)
			continue
		}
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		path := joinPath(prefix, name)
		if f.Type.Kind() == reflect.Struct {
			diffStruct(fa, fb, path, out)
			continue
		}
		equal := reflect.DeepEqual(fa.Interface(), fb.Interface())
		if path == "sources" {
			equal = sourcesEqual(a.Field(i).Interface().([]Source), b.Field(i).Interface().([]Source))
		}
		if !equal {
			*out = append(*out, path)
		}
	}
}

// sourcesEqual compares sources by content: a provider block that merely
// moved to other lines of the file is the same block.
func sourcesEqual(a, b []Source) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.ID != y.ID || x.Provider != y.Provider || x.Tenant != y.Tenant || x.PublicURL != y.PublicURL {
			return false
		}
		bx, errx := yaml.Marshal(&x.Settings)
		by, erry := yaml.Marshal(&y.Settings)
		if errx != nil || erry != nil || !bytes.Equal(bx, by) {
			return false
		}
	}
	return true
}
