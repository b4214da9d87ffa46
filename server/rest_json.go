package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// checkJSON validates a REST request body against the request message
// before protojson sees it, so that what is wrong comes back as field
// violations with the wire (proto, snake_case) names — protojson reports
// one error with a line and column and, for a nested field, no path:
//
//   - malformed JSON, and data after the JSON object;
//   - fields the message does not have (listing those it has);
//   - values of the wrong JSON type, integers out of range, bad base64;
//   - strings that are not UTF-8;
//   - enum values that are not a value of the enum (listing them).
//
// Enum values may be given the way users type them: "active" for
// STATUS_ACTIVE. It returns the body with such values spelt out in full,
// for protojson.
func checkJSON(data []byte, md protoreflect.MessageDescriptor) ([]byte, error) {
	c := &jsonCheck{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	c.dec.UseNumber()
	t, err := c.token()
	if err != nil {
		return nil, c.malformed("", err)
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, badRequest([]violation{{"body", "want a JSON object"}})
	}
	if err := c.object("", md); err != nil {
		return nil, c.malformed(c.at, err)
	}
	if _, err := c.token(); !errors.Is(err, io.EOF) {
		return nil, badRequest([]violation{{"body", fmt.Sprintf("unexpected data after the JSON object, at byte %d", c.start)}})
	}
	if len(c.vs) > 0 {
		return nil, badRequest(c.vs)
	}
	return c.rewritten(), nil
}

// jsonCheck walks one body's tokens beside the message descriptor.
type jsonCheck struct {
	data  []byte
	dec   *json.Decoder
	start int64 // offset where the last token's text began (with its separator)
	end   int64
	at    string // path of the value being read, for syntax errors
	vs    []violation
	subst []jsonSubst
}

// jsonSubst replaces data[from:to] (a string token) with text.
type jsonSubst struct {
	from, to int64
	text     string
}

func (c *jsonCheck) token() (json.Token, error) {
	c.start = c.dec.InputOffset()
	t, err := c.dec.Token()
	c.end = c.dec.InputOffset()
	return t, err
}

// raw is the text of the last token, without the separator before it.
func (c *jsonCheck) raw() []byte {
	return bytes.TrimLeft(c.data[c.start:c.end], " \t\r\n,:")
}

// rawUTF8 reports whether the last token's text is UTF-8 and escapes no
// lone surrogate ("\ud800": the decoder makes it U+FFFD, protojson
// refuses it).
func (c *jsonCheck) rawUTF8() bool {
	r := c.raw()
	if !utf8.Valid(r) {
		return false
	}
	for i := 0; i+6 <= len(r); i++ {
		if r[i] != '\\' {
			continue
		}
		if r[i+1] != 'u' {
			i++ // an escaped character, perhaps a backslash
			continue
		}
		u, err := strconv.ParseUint(string(r[i+2:i+6]), 16, 16)
		if err != nil || u < 0xd800 || u > 0xdfff {
			continue
		}
		if u >= 0xdc00 { // a low surrogate with no high one before it
			return false
		}
		if i+12 > len(r) || r[i+6] != '\\' || r[i+7] != 'u' {
			return false
		}
		lo, err := strconv.ParseUint(string(r[i+8:i+12]), 16, 16)
		if err != nil || lo < 0xdc00 || lo > 0xdfff {
			return false
		}
		i += 11
	}
	return true
}

// rawString names a string token that is not UTF-8 by its bytes, quoted
// (the decoder has replaced them).
func (c *jsonCheck) rawString() string {
	r := c.raw()
	if len(r) >= 2 {
		r = r[1 : len(r)-1]
	}
	return quoteField(string(r))
}

func (c *jsonCheck) violate(path, format string, args ...any) {
	if path == "" {
		path = "body"
	}
	c.vs = append(c.vs, violation{path, fmt.Sprintf(format, args...)})
}

func (c *jsonCheck) malformed(path string, err error) error {
	if path == "" {
		path = "body"
	}
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return badRequest([]violation{{path, fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se)}})
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest([]violation{{path, "malformed JSON: the body ends inside it"}})
	}
	return badRequest([]violation{{path, "malformed JSON: " + err.Error()}})
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// object reads the members of an object whose '{' has been read.
func (c *jsonCheck) object(path string, md protoreflect.MessageDescriptor) error {
	fields := md.Fields()
	seen := map[protoreflect.FieldNumber]bool{}
	oneofs := map[protoreflect.Name]protoreflect.Name{} // oneof → the member given
	for c.dec.More() {
		c.at = path
		t, err := c.token()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		if !c.rawUTF8() {
			c.violate(join(path, c.rawString()), "field name is not UTF-8")
			if err := c.skip(); err != nil {
				return err
			}
			continue
		}
		fd := fields.ByJSONName(key)
		if fd == nil {
			fd = fields.ByTextName(key)
		}
		if fd == nil {
			c.violate(join(path, quoteField(key)), "unknown field; %s has %s", md.Name(), fieldList(md))
			if err := c.skip(); err != nil {
				return err
			}
			continue
		}
		name := join(path, string(fd.Name()))
		if seen[fd.Number()] {
			c.violate(name, "given twice")
		}
		seen[fd.Number()] = true
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			if other, set := oneofs[od.Name()]; set && other != fd.Name() {
				c.violate(name, "%s is already set: give one of %s", other, oneofList(od))
			}
			oneofs[od.Name()] = fd.Name()
		}
		if err := c.field(name, fd); err != nil {
			return err
		}
	}
	c.at = path
	_, err := c.token() // '}'
	return err
}

// oneofList names the members of a oneof.
func oneofList(od protoreflect.OneofDescriptor) string {
	names := make([]string, od.Fields().Len())
	for i := range names {
		names[i] = string(od.Fields().Get(i).Name())
	}
	return strings.Join(names, ", ")
}

// fieldList names a message's fields for "unknown field" messages.
func fieldList(md protoreflect.MessageDescriptor) string {
	names := make([]string, md.Fields().Len())
	for i := range names {
		names[i] = string(md.Fields().Get(i).Name())
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// field reads one field's value (null is the field's default).
func (c *jsonCheck) field(path string, fd protoreflect.FieldDescriptor) error {
	c.at = path
	t, err := c.token()
	if err != nil {
		return err
	}
	if t == nil {
		return nil
	}
	switch {
	case fd.IsMap():
		if d, ok := t.(json.Delim); !ok || d != '{' {
			c.violate(path, "want an object (a map), got %s", jsonKind(t))
			return c.skipRest(t)
		}
		for c.dec.More() {
			kt, err := c.token()
			if err != nil {
				return err
			}
			k, _ := kt.(string)
			if !c.rawUTF8() {
				k = c.rawString()
				c.violate(path+"["+k+"]", "key is not UTF-8")
			}
			if err := c.singularNext(path+"["+quoteField(k)+"]", fd.MapValue()); err != nil {
				return err
			}
		}
		_, err := c.token()
		return err
	case fd.IsList():
		if d, ok := t.(json.Delim); !ok || d != '[' {
			c.violate(path, "want an array, got %s", jsonKind(t))
			return c.skipRest(t)
		}
		for i := 0; c.dec.More(); i++ {
			if err := c.singularNext(fmt.Sprintf("%s[%d]", path, i), fd); err != nil {
				return err
			}
		}
		_, err := c.token()
		return err
	}
	return c.singular(path, fd, t)
}

// singularNext reads one element of a list or map.
func (c *jsonCheck) singularNext(path string, fd protoreflect.FieldDescriptor) error {
	c.at = path
	t, err := c.token()
	if err != nil {
		return err
	}
	if t == nil && fd.Kind() != protoreflect.MessageKind {
		c.violate(path, "null is not a value here")
		return nil
	}
	return c.singular(path, fd, t)
}

// singular checks one value t (already read) of fd's type.
func (c *jsonCheck) singular(path string, fd protoreflect.FieldDescriptor, t json.Token) error {
	if _, isDelim := t.(json.Delim); isDelim && fd.Kind() != protoreflect.MessageKind {
		c.violate(path, "want %s, got %s", kindName(fd), jsonKind(t))
		return c.skipRest(t)
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		md := fd.Message()
		if strings.HasPrefix(string(md.FullName()), "google.protobuf.") {
			return c.skipRest(t) // well-known types have JSON forms of their own: protojson checks them
		}
		if t == nil {
			return nil
		}
		if d, ok := t.(json.Delim); !ok || d != '{' {
			c.violate(path, "want an object (%s), got %s", md.Name(), jsonKind(t))
			return c.skipRest(t)
		}
		return c.object(path, md)
	case protoreflect.StringKind:
		if _, ok := t.(string); !ok {
			c.violate(path, "want a string, got %s", jsonKind(t))
		} else if !c.rawUTF8() {
			c.violate(path, "not UTF-8")
		}
	case protoreflect.BytesKind:
		s, ok := t.(string)
		if !ok {
			c.violate(path, "want a base64 string, got %s", jsonKind(t))
		} else if !isBase64(s) {
			c.violate(path, "not base64")
		}
	case protoreflect.BoolKind:
		if _, ok := t.(bool); !ok {
			c.violate(path, "want true or false, got %s", jsonKind(t))
		}
	case protoreflect.EnumKind:
		c.enum(path, fd.Enum(), t)
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		switch v := t.(type) {
		case json.Number:
		case string:
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				c.violate(path, "want a number, got %s", jsonKind(t))
			}
		default:
			c.violate(path, "want a number, got %s", jsonKind(t))
		}
	default: // the integer kinds
		c.integer(path, fd, t)
	}
	return nil
}

// integer checks an integer, in a JSON number or (as protojson allows, and
// 64-bit values need) a string, against the field's range.
func (c *jsonCheck) integer(path string, fd protoreflect.FieldDescriptor, t json.Token) {
	var text string
	switch v := t.(type) {
	case json.Number:
		text = string(v)
	case string:
		text = v
	default:
		c.violate(path, "want %s, got %s", kindName(fd), jsonKind(t))
		return
	}
	lo, hi := int64(math.MinInt32), int64(math.MaxInt32)
	unsigned := false
	switch fd.Kind() {
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		lo, hi = math.MinInt64, math.MaxInt64
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		lo, hi, unsigned = 0, math.MaxUint32, true
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		unsigned = true
	}
	if unsigned && fd.Kind() != protoreflect.Uint32Kind && fd.Kind() != protoreflect.Fixed32Kind {
		if _, err := strconv.ParseUint(text, 10, 64); err != nil && !wholeFloat(text, 0, math.MaxUint64) {
			c.violate(path, "want %s, got %s", kindName(fd), text)
		}
		return
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		if !wholeFloat(text, float64(lo), float64(hi)) {
			c.violate(path, "want %s, got %s", kindName(fd), text)
		}
		return
	}
	if n < lo || n > hi {
		c.violate(path, "want %s, got %s (out of range)", kindName(fd), text)
	}
}

// wholeFloat accepts integers written as 1e3 or 2.0, as protojson does.
func wholeFloat(text string, lo, hi float64) bool {
	f, err := strconv.ParseFloat(text, 64)
	return err == nil && f == math.Trunc(f) && f >= lo && f <= hi
}

// enum checks an enum value: its full name, its short name in any case
// ("active" for STATUS_ACTIVE), or its number. A short name is spelt out
// for protojson.
func (c *jsonCheck) enum(path string, ed protoreflect.EnumDescriptor, t json.Token) {
	switch v := t.(type) {
	case json.Number:
		if _, err := strconv.ParseInt(string(v), 10, 32); err != nil {
			c.violate(path, "want one of %s, got %s", enumList(ed), v)
		}
	case string:
		ev := enumValue(ed, v)
		if ev == nil {
			c.violate(path, "want one of %s, got %s", enumList(ed), strconv.Quote(v))
			return
		}
		if string(ev.Name()) != v {
			quoted, _ := json.Marshal(string(ev.Name()))
			c.subst = append(c.subst, jsonSubst{from: c.end - int64(len(c.raw())), to: c.end, text: string(quoted)})
		}
	default:
		c.violate(path, "want one of %s, got %s", enumList(ed), jsonKind(t))
	}
}

// skip reads and drops the next value.
func (c *jsonCheck) skip() error {
	t, err := c.token()
	if err != nil {
		return err
	}
	return c.skipRest(t)
}

// skipRest drops the rest of a value whose first token t has been read.
func (c *jsonCheck) skipRest(t json.Token) error {
	d, ok := t.(json.Delim)
	if !ok || d == '}' || d == ']' {
		return nil
	}
	for depth := 1; depth > 0; {
		t, err := c.token()
		if err != nil {
			return err
		}
		if d, ok := t.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

// rewritten is the body with the enum values spelt out.
func (c *jsonCheck) rewritten() []byte {
	if len(c.subst) == 0 {
		return c.data
	}
	var out bytes.Buffer
	last := int64(0)
	for _, s := range c.subst {
		out.Write(c.data[last:s.from])
		out.WriteString(s.text)
		last = s.to
	}
	out.Write(c.data[last:])
	return out.Bytes()
}

func jsonKind(t json.Token) string {
	switch v := t.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number (" + string(v) + ")"
	case string:
		return "a string"
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "an array"
	}
	return fmt.Sprintf("%T", t)
}

func kindName(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return "a 32-bit integer"
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return "a 64-bit integer"
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return "a non-negative 32-bit integer"
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return "a non-negative 64-bit integer"
	case protoreflect.StringKind:
		return "a string"
	case protoreflect.BytesKind:
		return "a base64 string"
	case protoreflect.BoolKind:
		return "true or false"
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return "a number"
	case protoreflect.EnumKind:
		return "one of " + enumList(fd.Enum())
	}
	return "an object"
}

func isBase64(s string) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if _, err := enc.DecodeString(s); err == nil {
			return true
		}
	}
	return false
}
