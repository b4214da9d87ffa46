package router_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/router"
)

// Fuzz targets of the router's validators and page tokens. `go test` runs
// their seeds; `make fuzz` (scripts/fuzz.sh) runs each for CANOPY_FUZZTIME.

// badRequest fails unless err is INVALID_ARGUMENT carrying a field
// violation for field (the detail is lost if it cannot be marshalled).
func badRequest(t *testing.T, err error, field string) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument {
		t.Fatalf("error %v: want INVALID_ARGUMENT", err)
	}
	if !utf8.ValidString(field) {
		return // a violation naming it cannot be marshalled: the message says it
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.FieldViolations) > 0 {
			return
		}
	}
	t.Fatalf("error %v: no field violation", err)
}

var refSeeds = []string{
	"", "web-1", "123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000",
	"{123e4567-e89b-12d3-a456-426614174000}", "urn:uuid:123e4567-e89b-12d3-a456-426614174000",
	"123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400z", "12345678-abcdefghijklmnopqrst",
	"ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20240101", "a/b", "..", "%2F", "\xff\xfe", "a\x00b",
	"tab\there", "é", "\u202eevil", strings.Repeat("a", 255), strings.Repeat("a", 256), strings.Repeat("é", 128),
}

// FuzzIDOrName: a reference is an id (then the canonical lower-case UUID,
// which classifies as itself), a name (then UTF-8, printable, at most 255
// bytes, and the same name again), or INVALID_ARGUMENT.
func FuzzIDOrName(f *testing.F) {
	for _, s := range refSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, isID, err := router.IDOrName("image", v)
		if err != nil {
			badRequest(t, err, "image")
			if router.CheckIDFilter("image_id", v) == nil && v != "" {
				t.Fatalf("CheckIDFilter accepted %q, which IDOrName refused", v)
			}
			return
		}
		if isID {
			if len(got) != 36 || got != strings.ToLower(got) || !strings.EqualFold(got, v) {
				t.Fatalf("IDOrName(%q) = id %q", v, got)
			}
		} else {
			if got != v || !utf8.ValidString(v) || len(v) > 255 || v == "" {
				t.Fatalf("IDOrName(%q) = name %q", v, got)
			}
			for _, r := range v {
				if !unicode.IsPrint(r) {
					t.Fatalf("IDOrName accepted %q with non-printable %q", v, r)
				}
			}
			if router.CheckIDFilter("image_id", v) == nil {
				t.Fatalf("CheckIDFilter accepted the name %q", v)
			}
		}
		again, againID, err := router.IDOrName("image", got)
		if err != nil || again != got || againID != isID {
			t.Fatalf("IDOrName(%q) = %q, %v; of that: %q, %v, %v", v, got, isID, again, againID, err)
		}
	})
}

// FuzzCheckName: an accepted name is one path segment of UTF-8 printable
// characters, 1-255 bytes, and an accepted name is a valid reference to
// itself.
func FuzzCheckName(f *testing.F) {
	for _, s := range refSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		err := router.CheckName("name", v)
		if err != nil {
			badRequest(t, err, "name")
			return
		}
		if v == "" || len(v) > 255 || strings.Contains(v, "/") || !utf8.ValidString(v) {
			t.Fatalf("CheckName accepted %q", v)
		}
		for _, r := range v {
			if !unicode.IsPrint(r) {
				t.Fatalf("CheckName accepted %q with non-printable %q", v, r)
			}
		}
		if _, _, err := router.IDOrName("name", v); err != nil && !strings.Contains(err.Error(), "malformed id") {
			t.Fatalf("CheckName accepted %q, which IDOrName refuses: %v", v, err)
		}
	})
}

// FuzzCheckLabels: labels are given as "k=v" lines. Accepted labels have
// keys of the documented form and short values; a refused key is named.
func FuzzCheckLabels(f *testing.F) {
	for _, s := range []string{"", "env=dev", "env=dev\ntier=web", "Env=dev", "1x=y", "a.b-c_d=" + strings.Repeat("v", 255),
		"a=" + strings.Repeat("v", 256), strings.Repeat("k", 63) + "=v", strings.Repeat("k", 64) + "=v", "é=v", "\xff=v", "a\x00=v", "=v"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		labels := map[string]string{}
		for line := range strings.SplitSeq(in, "\n") {
			k, v, _ := strings.Cut(line, "=")
			labels[k] = v
		}
		err := router.CheckLabels("labels", labels)
		if err != nil {
			badRequest(t, err, "labels")
			return
		}
		if len(labels) > 64 {
			t.Fatalf("accepted %d labels", len(labels))
		}
		for k, v := range labels {
			if k == "" || len(k) > 63 || k[0] < 'a' || k[0] > 'z' || len(v) > 255 {
				t.Fatalf("accepted label %q=%q", k, v)
			}
			for _, c := range []byte(k) {
				if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
					t.Fatalf("accepted label key %q", k)
				}
			}
		}
		if err := router.CheckLabels("labels", labels); err != nil {
			t.Fatalf("accepted once, then refused: %v", err)
		}
	})
}

// FuzzCheckRequestID: at most 128 bytes, nothing else.
func FuzzCheckRequestID(f *testing.F) {
	for _, s := range []string{"", "5f0c6b1e-1c4d-4b8e-9d43-0d0e3f9c2a11", strings.Repeat("r", 128), strings.Repeat("r", 129), "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		err := router.CheckRequestID(v)
		if (err == nil) != (len(v) <= 128) {
			t.Fatalf("CheckRequestID(%d bytes) = %v", len(v), err)
		}
		if err != nil {
			badRequest(t, err, "request_id")
		}
	})
}

// FuzzPageToken: a token WrapToken made unwraps to the cloud's token for
// the same filters and is refused for others; any other string either
// unwraps to a non-empty token (it is then a token WrapToken makes
// again) or is INVALID_ARGUMENT, never a panic. Paginate, walked with its
// own tokens, serves every item once in key order; given a hostile token
// it serves a page or refuses.
func FuzzPageToken(f *testing.F) {
	filter := router.FilterHash("servers", "", map[string]string{"env": "dev"})
	for _, s := range []struct{ native, token string }{
		{"c1\x00web\x00id", ""}, {"", ""}, {"marker/with/slashes", "eyJhIjoieCIsImYiOiIifQ"},
		{"x", router.WrapToken("after", filter)}, {"\xff", "%%%"}, {"a", "eyJhIjoxfQ"}, {"a", "bnVsbA"},
		{"a", base64.RawURLEncoding.EncodeToString([]byte(`{"a":"zzz","f":"` + filter + `"}`))},
		{"a", base64.RawURLEncoding.EncodeToString([]byte(`{"a":"","f":"` + filter + `"}`))},
		{"a", base64.StdEncoding.EncodeToString([]byte(`{"a":"k","f":"` + filter + `"}`))},
	} {
		f.Add(s.native, s.token, uint8(3))
	}
	f.Fuzz(func(t *testing.T, native, token string, size uint8) {
		// Round trip of a cloud's token.
		w := router.WrapToken(native, filter)
		got, err := router.UnwrapToken(w, filter)
		if err != nil || got != native {
			t.Fatalf("UnwrapToken(WrapToken(%q)) = %q, %v", native, got, err)
		}
		if w != "" {
			if _, err := router.UnwrapToken(w, filter+"x"); err == nil {
				t.Fatalf("token for %q accepted with other filters", native)
			}
		}
		// Any token.
		if got, err := router.UnwrapToken(token, filter); err != nil {
			badRequest(t, err, "page_token")
		} else if token != "" && got == "" {
			t.Fatalf("UnwrapToken(%q) accepted with an empty cloud token", token)
		}
		// Paginate over items derived from the inputs.
		var items []string
		for i, part := range strings.Split(native+"\x01"+token, "\x01") {
			items = append(items, router.SortKey(part, string(rune('a'+i%26)), ""))
		}
		id := func(s string) string { return s }
		n := int(size%8) + 1
		if page, _, err := router.Paginate(append([]string(nil), items...), id, n, token, filter); err != nil {
			badRequest(t, err, "page_token")
		} else if len(page) > n {
			t.Fatalf("page of %d for size %d", len(page), n)
		}
		var seen []string
		next := ""
		for pages := 0; ; pages++ {
			if pages > len(items)+1 {
				t.Fatalf("no end after %d pages of %d items", pages, len(items))
			}
			page, tok, err := router.Paginate(append([]string(nil), items...), id, n, next, filter)
			if err != nil {
				t.Fatalf("own token %q refused: %v", next, err)
			}
			seen = append(seen, page...)
			if tok == "" {
				break
			}
			next = tok
		}
		// Equal keys collapse at page boundaries; distinct keys each
		// come once, in order.
		for i := 1; i < len(seen); i++ {
			if seen[i] < seen[i-1] {
				t.Fatalf("out of order: %q", seen)
			}
		}
		distinct := map[string]bool{}
		for _, s := range items {
			distinct[s] = true
		}
		for _, s := range seen {
			delete(distinct, s)
		}
		if len(distinct) > 0 {
			t.Fatalf("items never served: %v (served %q)", distinct, seen)
		}
	})
}
