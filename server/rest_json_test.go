package server

import (
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

func TestCheckJSON(t *testing.T) {
	servers := (&canopyv1.ListServersRequest{}).ProtoReflect().Descriptor()
	create := (&canopyv1.CreateServerRequest{}).ProtoReflect().Descriptor()
	for _, tc := range []struct {
		name, body string
		md         protoreflect.MessageDescriptor
		fields     []string // violations; none: accepted
		out        string   // the rewritten body, when accepted
	}{
		{"short enum", `{"status": "active"}`, servers, nil, `{"status": "STATUS_ACTIVE"}`},
		{"enum in any case", `{"status":"Active","name":"x"}`, servers, nil, `{"status":"STATUS_ACTIVE","name":"x"}`},
		{"full enum", `{"status":"STATUS_ERROR"}`, servers, nil, `{"status":"STATUS_ERROR"}`},
		{"enum number", `{"status":3}`, servers, nil, `{"status":3}`},
		{"bad enum", `{"status":"sleeping"}`, servers, []string{"status"}, ""},
		{"nulls", `{"name":null,"location":null,"labels":null}`, create, nil, `{"name":null,"location":null,"labels":null}`},
		{"JSON names", `{"pageSize":5,"pageToken":"t"}`, servers, nil, `{"pageSize":5,"pageToken":"t"}`},
		{"64-bit as string", `{"page_size":"5"}`, servers, nil, `{"page_size":"5"}`},
		{"whole float", `{"page_size":5.0}`, servers, nil, `{"page_size":5.0}`},
		{"fraction", `{"page_size":5.5}`, servers, []string{"page_size"}, ""},
		{"int32 overflow", `{"page_size":2147483648}`, servers, []string{"page_size"}, ""},
		{"several wrong", `{"name":1,"page_size":"x","labels":[],"status":true}`, servers, []string{"name", "page_size", "labels", "status"}, ""},
		{"nested unknown", `{"location":{"cloud":"a","zoen":"b"}}`, create, []string{"location.zoen"}, ""},
		{"list element", `{"networks":["a",5]}`, create, []string{"networks[1]"}, ""},
		{"null in a list", `{"networks":[null]}`, create, []string{"networks[0]"}, ""},
		{"bytes not base64", `{"user_data":"***"}`, create, []string{"user_data"}, ""},
		{"given twice", `{"name":"a","name":"b"}`, create, []string{"name"}, ""},
		{"trailing", `{} x`, create, []string{"body"}, ""},
		{"not UTF-8 key", "{\"n\xffme\":1}", create, []string{`"n\xffme"`}, ""},
		{"not UTF-8 map key", "{\"labels\":{\"\xff\":\"v\"}}", create, []string{`labels["\xff"]`}, ""},
	} {
		out, err := checkJSON([]byte(tc.body), tc.md)
		if len(tc.fields) == 0 {
			if err != nil || string(out) != tc.out {
				t.Errorf("%s: %s, %v; want %s", tc.name, out, err, tc.out)
			}
			continue
		}
		got := map[string]bool{}
		for _, d := range status.Convert(err).Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					got[v.GetField()] = true
				}
			}
		}
		for _, f := range tc.fields {
			if !got[f] {
				t.Errorf("%s: no violation on %q: %v", tc.name, f, err)
			}
		}
	}
}

// Every List RPC's response, empty, still has its lists in REST JSON, and
// only those: the same resource looks the same listed or got.
func TestEveryListResponseCarriesItsLists(t *testing.T) {
	n := 0
	protoregistry.GlobalFiles.RangeFilesByPackage("canopy.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				m := sd.Methods().Get(j)
				if !strings.HasPrefix(string(m.Name()), "List") {
					continue
				}
				n++
				mt, err := protoregistry.GlobalTypes.FindMessageByName(m.Output().FullName())
				if err != nil {
					t.Fatal(err)
				}
				b, err := restJSON(mt.New().Interface())
				if err != nil {
					t.Fatal(err)
				}
				var got map[string]any
				if err := json.Unmarshal(b, &got); err != nil {
					t.Fatalf("%s: %s: %v", m.FullName(), b, err)
				}
				for k := range m.Output().Fields().Len() {
					f := m.Output().Fields().Get(k)
					if _, ok := got[string(f.Name())]; ok != (f.IsList() || f.IsMap()) {
						t.Errorf("%s: field %s present=%v in %s", m.FullName(), f.Name(), ok, b)
					}
				}
			}
		}
		return true
	})
	if n < 10 {
		t.Errorf("only %d List RPCs found", n)
	}
	// A non-empty list keeps its members, and other messages are untouched.
	b, _ := restJSON(&canopyv1.ListServersResponse{NextPageToken: "t"})
	if string(b) != `{"servers":[],"cloud_errors":[],"unreachable":[],"next_page_token":"t"}` {
		t.Errorf("with a token: %s", b)
	}
	if b, _ := restJSON(&canopyv1.Server{}); string(b) != `{}` {
		t.Errorf("a server: %s", b)
	}
}
