package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// decodeStrict decodes raw into c refusing keys the file format does not
// have: a misspelt key (`max_interval` as `max_intervall`) would otherwise
// be ignored and its setting silently left at the default. The error names
// the key, its line and the keys that are allowed there.
func decodeStrict(raw []byte, c *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	err := dec.Decode(c)
	if err == nil || errors.Is(err, io.EOF) { // an empty file is the default
		return nil
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		msgs[i] = unknownKeyMessage(m)
	}
	return errors.New(strings.Join(msgs, "; "))
}

// yamlUnknownField is how yaml.v3 reports a key KnownFields refuses.
var yamlUnknownField = regexp.MustCompile(`^line (\d+): field (.+) not found in type (\S+)$`)

// unknownKeyMessage rewrites yaml.v3's "field x not found in type
// config.Cloud" into the user's terms: the key and the keys allowed beside
// it. Other messages pass through.
func unknownKeyMessage(m string) string {
	sub := yamlUnknownField.FindStringSubmatch(m)
	if sub == nil {
		return m
	}
	msg := fmt.Sprintf("line %s: unknown key %q", sub[1], sub[2])
	if keys := keysOf(sub[3]); len(keys) > 0 {
		msg += " (want one of: " + strings.Join(keys, ", ") + ")"
	}
	return msg
}

// keysOf lists the YAML keys of the struct type named typeName (as
// reflect prints it, e.g. "config.Cloud") among the types a Config holds.
func keysOf(typeName string) []string {
	var found reflect.Type
	var walk func(t reflect.Type, seen map[reflect.Type]bool)
	walk = func(t reflect.Type, seen map[reflect.Type]bool) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] || found != nil {
			return
		}
		seen[t] = true
		if t.String() == typeName {
			found = t
			return
		}
		for i := range t.NumField() {
			walk(t.Field(i).Type, seen)
		}
	}
	walk(reflect.TypeOf(Config{}), map[reflect.Type]bool{})
	if found == nil {
		return nil
	}
	var keys []string
	for i := range found.NumField() {
		name, _, _ := strings.Cut(found.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	sort.Strings(keys)
	return keys
}
