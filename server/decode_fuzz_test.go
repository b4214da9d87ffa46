package server

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// Fuzz targets of the server's decoders and validators: REST bodies and
// queries, the raw gRPC codec, byte ranges, container and object inputs.
// `go test` runs their seeds; `make fuzz` (scripts/fuzz.sh) runs each for
// CANOPY_FUZZTIME.

// fuzzMessages are request messages of several shapes: nested messages,
// maps, lists, enums, oneofs, bytes, well-known types.
var fuzzMessages = []func() proto.Message{
	func() proto.Message { return &canopyv1.CreateServerRequest{} },
	func() proto.Message { return &canopyv1.CreateContainerRequest{} },
	func() proto.Message { return &canopyv1.UploadObjectRequest{} },
	func() proto.Message { return &canopyv1.ListServersRequest{} },
	func() proto.Message { return &canopyv1.CreateVolumeRequest{} },
}

// hasWellKnown reports whether md reaches a google.protobuf message, whose
// JSON checkJSON leaves to protojson.
func hasWellKnown(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
	if seen[md.FullName()] {
		return false
	}
	seen[md.FullName()] = true
	for i := range md.Fields().Len() {
		fd := md.Fields().Get(i)
		if fd.IsMap() {
			fd = fd.MapValue()
		}
		if fd.Kind() == protoreflect.MessageKind {
			if isWellKnown(fd.Message()) || hasWellKnown(fd.Message(), seen) {
				return true
			}
		}
	}
	return false
}

func invalidArgument(t *testing.T, what string, err error) {
	t.Helper()
	if st, ok := status.FromError(err); !ok || st.Code() != codes.InvalidArgument {
		t.Fatalf("%s: error %v: want INVALID_ARGUMENT", what, err)
	}
}

// FuzzCheckJSON: checkJSON refuses with INVALID_ARGUMENT or accepts a
// body that is one valid JSON object of UTF-8 text, whose rewritten form
// it accepts again unchanged, and which protojson then takes (for the
// messages without well-known types, whose syntax protojson alone checks);
// what decodeBody accepts can be marshalled again (the gRPC hop and the
// REST answer).
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"name":"web-1","image":"ubuntu/images/hvm-ssd/x","flavor":"m1.small","labels":{"env":"dev"}}`,
		`{"name":"web-1"} xyz`, `{"name":"\xff\xfe"}`, `{"\xff":1}`, `{"labels":{"\xff":"x"}}`, `{"labels":{"a":null}}`,
		`{"name":1}`, `{"page_size":"12"}`, `{"page_size":1e3}`, `{"page_size":2.5}`, `{"page_size":99999999999}`,
		`{"status":"active"}`, `{"status":"STATUS_ACTIVE"}`, `{"status":3}`, `{"status":"bogus"}`, `{"pageSize":5}`,
		`{"chunk":"aGVsbG8="}`, `{"chunk":"!!"}`, `{"chunk":"aGk","header":{"bucket":"b"}}`, `{"sha256":"ab"}`,
		`{"name":"a","name":"b"}`, `[]`, `null`, ``, `{`, `{"a":`, `{"a":[1,2,{"b":[]}]}`, `{"cpu":"NaN"}`, `{"cpu":"inf"}`,
		`{"cpu":1e400}`, `{"memory_mib":"0x10"}`, `{"stop_timeout":"10s"}`, `{"stop_timeout":"\xff"}`, `{"create_time":"x"}`,
		`{"env":{"A":"1"},"args":["sh","-c","echo"],"ports":[{"container_port":80}]}`, `{"args":[null]}`, `{"user_data":"\u0000"}`,
		"{\"name\":\"a\"}\n", `{"name":"\ud800"}`,
	} {
		for i := range fuzzMessages {
			f.Add([]byte(s), uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		newMsg := fuzzMessages[int(which)%len(fuzzMessages)]
		md := newMsg().ProtoReflect().Descriptor()
		norm, err := checkJSON(data, md)
		if err != nil {
			invalidArgument(t, "checkJSON", err)
		} else {
			if !json.Valid(data) || !json.Valid(norm) {
				t.Fatalf("accepted %q (rewritten %q): not JSON", data, norm)
			}
			if !utf8.Valid(data) {
				t.Fatalf("accepted %q: not UTF-8", data)
			}
			again, err := checkJSON(norm, md)
			if err != nil || !bytes.Equal(again, norm) {
				t.Fatalf("accepted %q as %q; that: %q, %v", data, norm, again, err)
			}
			if !hasWellKnown(md, map[protoreflect.FullName]bool{}) {
				if err := protojson.Unmarshal(norm, newMsg()); err != nil {
					t.Fatalf("%s: accepted %q, which protojson refuses: %v", md.Name(), norm, err)
				}
			}
		}
		msg := newMsg()
		if err := decodeBody(bytes.NewReader(data), msg, nil); err != nil {
			if len(bytes.TrimSpace(data)) > 0 {
				invalidArgument(t, "decodeBody", err)
			}
			return
		}
		if _, err := proto.Marshal(msg); err != nil {
			t.Fatalf("decodeBody accepted %q into a message proto cannot marshal: %v", data, err)
		}
		if _, err := protojson.Marshal(msg); err != nil {
			t.Fatalf("decodeBody accepted %q into a message protojson cannot marshal: %v", data, err)
		}
	})
}

// FuzzQueryValues: a query strictQuery accepts is UTF-8 and fills a
// message that marshals; anything else is INVALID_ARGUMENT.
func FuzzQueryValues(f *testing.F) {
	for _, s := range []string{
		"", "name=web", "status=active", "status=STATUS_ACTIVE", "status=9", "status=bogus", "page_size=10", "page_size=x",
		"page_size=1&page_size=2", "pageSize=1&page_size=2", "labels[env]=dev", "labels=dev", "name=%FF%FE", "%FF=1",
		"page_token=%00%FF", "location.cloud=c1", "location=x", "location.cloud.x=1", "stauts=active", "labels[%FF]=x",
		"header.bucket=b&chunk=aGk", "chunk=!!", "cpu=NaN", "cpu=1e400", "args=a&args=b", "labels[a]=1&labels[a]=2", "[x]=1", ".=1",
	} {
		for i := range fuzzMessages {
			f.Add(s, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, query string, which uint8) {
		values, err := url.ParseQuery(query)
		if err != nil {
			return // the gateway answers a query it cannot parse itself
		}
		msg := fuzzMessages[int(which)%len(fuzzMessages)]()
		if err := (strictQuery{}).Parse(msg, values, nil); err != nil {
			if _, qerr := queryValues(msg.ProtoReflect().Descriptor(), values); qerr != nil {
				invalidArgument(t, "queryValues", qerr)
			}
			return
		}
		for k, vs := range values {
			if !utf8.ValidString(k) || firstNonUTF8(vs) != "" {
				t.Fatalf("accepted %q: not UTF-8", query)
			}
		}
		if _, err := proto.Marshal(msg); err != nil {
			t.Fatalf("accepted %q into a message proto cannot marshal: %v", query, err)
		}
	})
}

// splitBuffers cuts data into up to three buffers at the given points, as
// gRPC's receive path hands a message over.
func splitBuffers(data []byte, a, b uint16) mem.BufferSlice {
	i, j := int(a)%(len(data)+1), int(b)%(len(data)+1)
	if i > j {
		i, j = j, i
	}
	var bs mem.BufferSlice
	for _, part := range [][]byte{data[:i], data[i:j], data[j:]} {
		if len(part) > 0 {
			bs = append(bs, mem.SliceBuffer(append([]byte(nil), part...)))
		}
	}
	return bs
}

// FuzzRawCodecUnmarshal: whatever the bytes and however they are split,
// the raw codec decodes an upload message exactly as proto does — the
// same message, or an error where proto has one.
func FuzzRawCodecUnmarshal(f *testing.F) {
	chunk := func(m *canopyv1.UploadObjectRequest) []byte { b, _ := proto.Marshal(m); return b }
	for _, s := range [][]byte{
		{}, chunk(&canopyv1.UploadObjectRequest{Data: &canopyv1.UploadObjectRequest_Chunk{Chunk: []byte("hello")}}),
		chunk(&canopyv1.UploadObjectRequest{Data: &canopyv1.UploadObjectRequest_Chunk{Chunk: []byte{}}}),
		chunk(&canopyv1.UploadObjectRequest{Data: &canopyv1.UploadObjectRequest_Chunk{Chunk: []byte("x")}, Sha256: strings.Repeat("a", 64)}),
		chunk(&canopyv1.UploadObjectRequest{Sha256: "ab"}),
		chunk(&canopyv1.UploadObjectRequest{Data: &canopyv1.UploadObjectRequest_Header{Header: &canopyv1.ObjectUploadHeader{Bucket: "b", Key: "k"}}}),
		{0x12, 0x05, 'h', 'i'},             // length past the end
		{0x12, 0x01, 'a', 0x12, 0x01, 'b'}, // two chunks
		{0x1a, 0x02, 0xff, 0xfe},           // sha256 not UTF-8
		{0x92, 0x00, 0x01, 'a'},            // overlong tag
		{0x12, 0x81, 0x00, 'a'},            // overlong length
		{0x10, 0x01},                       // chunk as a varint
		{0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		{0x02, 0x00},                         // field 0
		{0xfa, 0xff, 0xff, 0xff, 0x0f, 0x00}, // field 2^29-1
	} {
		f.Add(s, uint16(1), uint16(3))
	}
	codec := newRawCodec(newChunkPool())
	f.Fuzz(func(t *testing.T, data []byte, a, b uint16) {
		var got canopyv1.UploadObjectRequest
		gerr := codec.Unmarshal(splitBuffers(data, a, b), &got)
		var want canopyv1.UploadObjectRequest
		werr := proto.Unmarshal(data, &want)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("%x: raw codec %v, proto %v", data, gerr, werr)
		}
		if gerr == nil && !proto.Equal(&got, &want) {
			t.Fatalf("%x: raw codec %v, proto %v", data, &got, &want)
		}
	})
}

// FuzzRawCodecMarshal: a rawBytesField is what proto makes of the message
// with that one bytes field, and its data is given back once sent.
func FuzzRawCodecMarshal(f *testing.F) {
	f.Add([]byte("hello"), uint8(2))
	f.Add([]byte{}, uint8(2))
	f.Add(bytes.Repeat([]byte{0xff}, 300), uint8(2))
	codec := newRawCodec(newChunkPool())
	f.Fuzz(func(t *testing.T, data []byte, _ uint8) {
		released := 0
		bs, err := codec.Marshal(&rawBytesField{field: downloadChunkField, data: data, release: func() { released++ }})
		if err != nil {
			t.Fatal(err)
		}
		wire := bs.Materialize()
		bs.Free()
		if released != 1 {
			t.Fatalf("released %d times", released)
		}
		var m canopyv1.DownloadObjectResponse
		if err := proto.Unmarshal(wire, &m); err != nil || !bytes.Equal(m.GetChunk(), data) || m.GetObject() != nil {
			t.Fatalf("%x: decoded %v, %v", wire, &m, err)
		}
		want, _ := proto.Marshal(&canopyv1.DownloadObjectResponse{Data: &canopyv1.DownloadObjectResponse_Chunk{Chunk: data}})
		if !bytes.Equal(wire, want) {
			t.Fatalf("wire %x, proto %x", wire, want)
		}
	})
}

// rangeGrammar is RFC 9110's single byte range.
var rangeGrammar = regexp.MustCompile(`^bytes=(?:([0-9]+)-([0-9]*)|-([0-9]+))$`)

// FuzzParseRange: parseRange accepts exactly RFC 9110's single ranges
// whose numbers fit, answers with an offset and length that stay inside
// int64 and match the header, and refuses anything else with
// INVALID_ARGUMENT.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"", "bytes=0-9", "bytes=5-", "bytes=-5", "bytes=0-0", "bytes=9-0", "bytes=-0", "bytes=-",
		"bytes=0-9223372036854775807", "bytes=9223372036854775807-9223372036854775807", "bytes=-9223372036854775807",
		"bytes=0-9223372036854775808", "bytes=+5-10", "bytes=5-+10", "bytes=-+5", "bytes= 5-10", "bytes=0-1,2-3", "items=0-1",
		"bytes=1_0-20", "bytes=0x10-20", "bytes=-1-2"} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -(size + 1)
		}
		off, n, ok, err := parseRange(h, func() (int64, error) { return size, nil })
		if h == "" {
			if ok || err != nil || n != -1 {
				t.Fatalf("no header: %d, %d, %v, %v", off, n, ok, err)
			}
			return
		}
		m := rangeGrammar.FindStringSubmatch(h)
		if err != nil {
			invalidArgument(t, "parseRange", err)
			if m == nil {
				return
			}
			// Grammatical but refused: a number past int64, last < first,
			// or an empty suffix.
			a, _ := new(big.Int).SetString(m[1], 10)
			b, _ := new(big.Int).SetString(m[2], 10)
			s, _ := new(big.Int).SetString(m[3], 10)
			lim := big.NewInt(math.MaxInt64)
			switch {
			case m[3] != "" && (s.Sign() == 0 || s.Cmp(lim) > 0):
			case m[1] != "" && a.Cmp(lim) > 0:
			case m[2] != "" && (b.Cmp(lim) > 0 || b.Cmp(a) < 0):
			default:
				t.Fatalf("refused %q: %v", h, err)
			}
			return
		}
		if !ok || m == nil {
			t.Fatalf("accepted %q (ok %v), which is not a single byte range", h, ok)
		}
		last, _ := strconv.ParseInt(m[2], 10, 64)
		toEnd := m[1] != "" && (m[2] == "" || last == math.MaxInt64)
		if off < 0 || n < -1 || (n == -1) != toEnd {
			t.Fatalf("%q: offset %d length %d", h, off, n)
		}
		if n >= 0 && off > math.MaxInt64-n {
			t.Fatalf("%q: offset %d + length %d overflows", h, off, n)
		}
		switch {
		case m[3] != "":
			suffix, _ := strconv.ParseInt(m[3], 10, 64)
			if off+n != size || n != min(suffix, size) {
				t.Fatalf("%q of %d bytes: offset %d length %d", h, size, off, n)
			}
		case !toEnd:
			first, _ := strconv.ParseInt(m[1], 10, 64)
			if off != first || off+n-1 != last {
				t.Fatalf("%q: offset %d length %d", h, off, n)
			}
		}
	})
}

// FuzzCheckSignal: an accepted signal is a number from 1 to 64 or a name
// of the table (with or without SIG, any case), as the adapters read it.
func FuzzCheckSignal(f *testing.F) {
	for _, s := range []string{"KILL", "SIGKILL", "sigterm", "hup", "9", "0", "65", "-1", "+9", "09", "SIG", "SIGSIGKILL",
		"ſigkill", "RTMIN+1", " KILL", "KILL\x00", "99999999999999999999", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sig string) {
		err := checkSignal(sig)
		if err != nil {
			invalidArgument(t, "checkSignal", err)
			return
		}
		if n, aerr := strconv.Atoi(sig); aerr == nil {
			if n < 1 || n > 64 {
				t.Fatalf("accepted signal %d", n)
			}
			return
		}
		if _, ok := signals[strings.TrimPrefix(strings.ToUpper(sig), "SIG")]; !ok {
			t.Fatalf("accepted %q", sig)
		}
	})
}

// FuzzCheckContainerName: an accepted name is Docker's
// [a-zA-Z0-9][a-zA-Z0-9_.-]+ of 2 to 128 characters.
func FuzzCheckContainerName(f *testing.F) {
	for _, s := range []string{"", "a", "ab", "web-1", "_ab", "a_b.c-d", strings.Repeat("a", 128), strings.Repeat("a", 129),
		"a/b", "é1", "a\xff", "a b", "a\x00"} {
		f.Add(s)
	}
	valid := regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,127}$`)
	f.Fuzz(func(t *testing.T, name string) {
		err := checkContainerName("name", name)
		if (err == nil) != valid.MatchString(name) {
			t.Fatalf("checkContainerName(%q) = %v", name, err)
		}
		if err != nil {
			invalidArgument(t, "checkContainerName", err)
		}
	})
}

// FuzzValidReference: an accepted image reference is a lower-case
// repository path with an optional tag after the last '/'.
func FuzzValidReference(f *testing.F) {
	for _, s := range []string{"myapp:v2", "myapp", "registry:5000/team/app:1.0", "registry:5000/team/app", "App:v1", "app:",
		":v1", "app:v1:v2", "app:" + strings.Repeat("t", 128), "app:" + strings.Repeat("t", 129), "a/b/c", "app@sha256:abc",
		"app:v\xff", "ap\xffp", "/", "app:/x"} {
		f.Add(s)
	}
	nameOK := regexp.MustCompile(`^[a-z0-9_./-]+$`)
	tagOK := regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,128}$`)
	f.Fuzz(func(t *testing.T, ref string) {
		ok := validReference(ref)
		name, tag, hasTag := ref, "", false
		if i := strings.LastIndex(ref, ":"); i >= 0 && !strings.Contains(ref[i+1:], "/") {
			name, tag, hasTag = ref[:i], ref[i+1:], true
		}
		want := nameOK.MatchString(name) && (!hasTag || tagOK.MatchString(tag))
		if ok != want {
			t.Fatalf("validReference(%q) = %v, want %v", ref, ok, want)
		}
	})
}

// FuzzCheckKey: an accepted object key is 1 to maxKeyLen bytes of UTF-8
// without NUL; an accepted sha256 is 64 hex digits (or none).
func FuzzCheckKey(f *testing.F) {
	for _, s := range []string{"", "a", "dir/file.txt", "\xff", "a\x00b", strings.Repeat("k", maxKeyLen), strings.Repeat("k", maxKeyLen+1),
		strings.Repeat("a", 64), strings.Repeat("A", 64), strings.Repeat("g", 64), "../../etc/passwd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		err := checkKey("key", key)
		want := key != "" && len(key) <= maxKeyLen && utf8.ValidString(key) && !strings.ContainsRune(key, 0)
		if (err == nil) != want {
			t.Fatalf("checkKey(%q) = %v", key, err)
		}
		if err != nil {
			invalidArgument(t, "checkKey", err)
		}
		err = checkSHA256("sha256", key)
		want = key == "" || len(key) == 64 && strings.Trim(key, "0123456789abcdefABCDEF") == ""
		if (err == nil) != want {
			t.Fatalf("checkSHA256(%q) = %v", key, err)
		}
	})
}
