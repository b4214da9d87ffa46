package server

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// REST query parameters, checked against the request message: grpc-gateway
// ignores a parameter the call does not have (a typo such as ?stauts=
// silently listed everything), sends text that is not UTF-8 on to gRPC
// (500 "error while marshaling"), and takes enum values only as their full
// names. Here a parameter the call lacks is 400 naming it, bad text or a
// bad value is 400 naming the parameter, and enum values may be typed
// short ("active" for STATUS_ACTIVE).

func init() {
	// The parser the generated handlers call is process-wide in
	// grpc-gateway, set by this mux option whichever mux it is given to.
	// It is set here, once, before any gateway exists and so before any
	// request (setting it per mux would race between muxes); strictQuery
	// holds no state.
	_ = runtime.NewServeMux(runtime.SetQueryParameterParser(strictQuery{}))
}

// strictQuery is the gateway's QueryParameterParser.
type strictQuery struct{}

// Parse implements runtime.QueryParameterParser. Its error reaches the
// client only as a message (the generated code flattens it);
// explainGatewayError calls queryValues again for the field violations.
func (strictQuery) Parse(msg proto.Message, values url.Values, filter *utilities.DoubleArray) error {
	norm, err := queryValues(msg.ProtoReflect().Descriptor(), values)
	if err != nil {
		return err
	}
	if filter == nil { // no field is bound elsewhere (the byte routes)
		filter = utilities.NewDoubleArray(nil)
	}
	return (&runtime.DefaultQueryParser{}).Parse(msg, norm, filter)
}

// mapKey is the labels[key]=value form of a map parameter.
var mapKey = regexp.MustCompile(`^(.*)\[(.*)\]$`)

// queryValues checks query parameters against md and returns them with
// enum values spelt out in full, or INVALID_ARGUMENT with a violation per
// bad parameter.
func queryValues(md protoreflect.MessageDescriptor, values url.Values) (url.Values, error) {
	norm := make(url.Values, len(values))
	var vs []violation
	set := map[string]string{} // field path → the parameter that set it
	for _, key := range sortedKeys(values) {
		vals := values[key]
		if !utf8.ValidString(key) {
			vs = append(vs, violation{quoteField(key), "parameter name is not UTF-8"})
			continue
		}
		if bad := firstNonUTF8(vals); bad != "" {
			vs = append(vs, violation{key, fmt.Sprintf("%q is not UTF-8: percent-encode UTF-8 bytes", bad)})
			continue
		}
		fieldKey, isMap := key, false
		if m := mapKey.FindStringSubmatch(key); m != nil {
			fieldKey, isMap = m[1], true
		}
		fd, canon, why := queryField(md, fieldKey)
		if fd == nil {
			vs = append(vs, violation{key, why})
			continue
		}
		if prev, dup := set[canon]; dup {
			vs = append(vs, violation{key, fmt.Sprintf("sets %s, which %s already set", canon, prev)})
			continue
		}
		if !isMap {
			set[canon] = key
		}
		switch {
		case isMap != fd.IsMap():
			if fd.IsMap() {
				vs = append(vs, violation{key, fmt.Sprintf("a map: give each entry as %s[KEY]=VALUE", fieldKey)})
			} else {
				vs = append(vs, violation{key, "not a map"})
			}
			continue
		case fd.IsMap() && len(vals) > 1: // the gateway's parser failed on it: a 500
			vs = append(vs, violation{key, fmt.Sprintf("given %d times; a map entry takes one value", len(vals))})
			continue
		case fd.IsMap():
			fd = fd.MapValue()
		case !fd.IsList() && len(vals) > 1:
			vs = append(vs, violation{key, fmt.Sprintf("given %d times; it takes one value", len(vals))})
			continue
		}
		out := make([]string, len(vals))
		for i, v := range vals {
			nv, why := queryValue(fd, v)
			if why != "" {
				vs = append(vs, violation{key, why})
				break
			}
			out[i] = nv
		}
		norm[key] = out
	}
	if len(vs) > 0 {
		return nil, badRequest(vs)
	}
	return norm, nil
}

// queryField resolves a dotted parameter name (proto or JSON field names)
// to its field and the field's proto path; why says what is wrong when
// there is none.
func queryField(md protoreflect.MessageDescriptor, key string) (protoreflect.FieldDescriptor, string, string) {
	parts := strings.Split(key, ".")
	var canon []string
	cur := md
	for i, p := range parts {
		fd := cur.Fields().ByTextName(p)
		if fd == nil {
			fd = cur.Fields().ByJSONName(p)
		}
		if fd == nil {
			return nil, "", fmt.Sprintf("unknown query parameter; this call takes %s", strings.Join(queryParams(md, "", 0), ", "))
		}
		canon = append(canon, string(fd.Name()))
		last := i == len(parts)-1
		if fd.Kind() == protoreflect.MessageKind && !fd.IsMap() && !isWellKnown(fd.Message()) {
			if last || fd.IsList() {
				return nil, "", fmt.Sprintf("%s is an object: give its fields, as %s", strings.Join(canon, "."), strings.Join(queryParams(fd.Message(), strings.Join(canon, ".")+".", 1), ", "))
			}
			cur = fd.Message()
			continue
		}
		if !last {
			return nil, "", fmt.Sprintf("unknown query parameter: %s has no fields", strings.Join(canon, "."))
		}
		return fd, strings.Join(canon, "."), ""
	}
	return nil, "", "empty parameter name"
}

// queryParams lists the parameters a message takes in a query.
func queryParams(md protoreflect.MessageDescriptor, prefix string, depth int) []string {
	var out []string
	for i := range md.Fields().Len() {
		fd := md.Fields().Get(i)
		name := prefix + string(fd.Name())
		switch {
		case fd.IsMap():
			out = append(out, name+"[KEY]")
		case fd.Kind() == protoreflect.MessageKind && !isWellKnown(fd.Message()):
			if depth < 3 && !fd.IsList() {
				out = append(out, queryParams(fd.Message(), name+".", depth+1)...)
			}
		default:
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func isWellKnown(md protoreflect.MessageDescriptor) bool {
	return strings.HasPrefix(string(md.FullName()), "google.protobuf.")
}

// queryValue checks one value of a scalar field, returning it as the
// gateway's parser wants it (enums by full name).
func queryValue(fd protoreflect.FieldDescriptor, v string) (string, string) {
	var err error
	switch fd.Kind() {
	case protoreflect.EnumKind:
		if ev := enumValue(fd.Enum(), v); ev != nil {
			return string(ev.Name()), ""
		}
		if _, err := strconv.ParseInt(v, 10, 32); err == nil {
			return v, ""
		}
		return "", fmt.Sprintf("want one of %s, got %q", enumList(fd.Enum()), v)
	case protoreflect.BoolKind:
		_, err = strconv.ParseBool(v)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		_, err = strconv.ParseInt(v, 10, 32)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		_, err = strconv.ParseInt(v, 10, 64)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		_, err = strconv.ParseUint(v, 10, 32)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		_, err = strconv.ParseUint(v, 10, 64)
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		_, err = strconv.ParseFloat(v, 64)
	case protoreflect.BytesKind:
		if !isBase64(v) {
			return "", "not base64"
		}
	}
	if err != nil {
		return "", fmt.Sprintf("want %s, got %q", kindName(fd), v)
	}
	return v, ""
}

func firstNonUTF8(vals []string) string {
	for _, v := range vals {
		if !utf8.ValidString(v) {
			return v
		}
	}
	return ""
}

// enumValue finds an enum value by its full name or its short name, in any
// case: the enum's type name in upper snake case is the prefix users need
// not type (STATUS_ACTIVE: "active"; CONTAINER_STATE_RUNNING: "running").
func enumValue(ed protoreflect.EnumDescriptor, s string) protoreflect.EnumValueDescriptor {
	if ev := ed.Values().ByName(protoreflect.Name(s)); ev != nil {
		return ev
	}
	prefix := enumPrefix(ed)
	for i := range ed.Values().Len() {
		ev := ed.Values().Get(i)
		name := string(ev.Name())
		if strings.EqualFold(name, s) || strings.EqualFold(strings.TrimPrefix(name, prefix), s) {
			return ev
		}
	}
	return nil
}

// enumList names an enum's values as users may type them, for errors.
func enumList(ed protoreflect.EnumDescriptor) string {
	prefix := enumPrefix(ed)
	var short []string
	for i := range ed.Values().Len() {
		name := string(ed.Values().Get(i).Name())
		if ed.Values().Get(i).Number() == 0 && strings.HasSuffix(name, "_UNSPECIFIED") {
			continue
		}
		short = append(short, strings.ToLower(strings.TrimPrefix(name, prefix)))
	}
	example := ""
	if ed.Values().Len() > 1 {
		example = fmt.Sprintf(" (or in full, e.g. %s)", ed.Values().Get(1).Name())
	}
	return strings.Join(short, ", ") + example
}

// enumPrefix is STATUS_ for enum Status, CONTAINER_STATE_ for ContainerState.
func enumPrefix(ed protoreflect.EnumDescriptor) string {
	var b strings.Builder
	for i, r := range string(ed.Name()) {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String()) + "_"
}
