package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
)

// restCase is one hostile (or ordinary) REST request and what must come
// back: the HTTP status, the gRPC code in the body, the field violations
// it names and text the message or body must contain.
type restCase struct {
	name, method, path string
	body               io.Reader
	header             map[string]string
	status             int
	code               codes.Code // checked when status >= 400
	fields             []string   // BadRequest field violations expected
	mentions           []string   // substrings of the raw response body
	allow              string     // the Allow header, for 405
}

// restResult is a REST response.
type restResult struct {
	status int
	header http.Header
	raw    []byte
	json   map[string]any
}

// restDo sends one authenticated REST request.
func (e *env) restDo(t *testing.T, method, path string, body io.Reader, header map[string]string) restResult {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), method, e.rest+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	res := restResult{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &res.json)
	return res
}

// check runs c and asserts status, body and headers.
func (c restCase) check(t *testing.T, e *env) restResult {
	t.Helper()
	r := e.restDo(t, c.method, c.path, c.body, c.header)
	if r.status != c.status {
		t.Errorf("%s: %s %s = %d %s, want %d", c.name, c.method, c.path, r.status, r.raw, c.status)
		return r
	}
	if c.status >= 400 {
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", c.name, ct)
		}
		if code, _ := r.json["code"].(float64); codes.Code(code) != c.code {
			t.Errorf("%s: body code %v, want %d (%s): %s", c.name, r.json["code"], c.code, c.code, r.raw)
		}
		assertOneErrorShape(t, c.name, r.raw)
	}
	got := violations(r.json)
	for _, f := range c.fields {
		if _, ok := got[f]; !ok {
			t.Errorf("%s: no field violation on %q in %s", c.name, f, r.raw)
		}
	}
	for _, m := range c.mentions {
		if !strings.Contains(string(r.raw), m) {
			t.Errorf("%s: body %s does not mention %q", c.name, r.raw, m)
		}
	}
	if c.allow != "" && r.header.Get("Allow") != c.allow {
		t.Errorf("%s: Allow %q, want %q", c.name, r.header.Get("Allow"), c.allow)
	}
	return r
}

// violations maps field → description of an error body's BadRequest.
func violations(body map[string]any) map[string]string {
	out := map[string]string{}
	details, _ := body["details"].([]any)
	for _, d := range details {
		dm, _ := d.(map[string]any)
		fvs, _ := dm["field_violations"].([]any)
		for _, fv := range fvs {
			m, _ := fv.(map[string]any)
			f, _ := m["field"].(string)
			out[f], _ = m["description"].(string)
		}
	}
	return out
}

// assertOneErrorShape fails on the protojson camelCase spelling of
// google.rpc details: every route answers with the gateway's snake_case.
func assertOneErrorShape(t *testing.T, name string, raw []byte) {
	t.Helper()
	for _, camel := range []string{"fieldViolations", "resourceType", "resourceName"} {
		if bytes.Contains(raw, []byte(camel)) {
			t.Errorf("%s: error body uses %q: %s", name, camel, raw)
		}
	}
}

// chunked hides a body's length, so it is sent chunked and the limit must
// be enforced while reading.
type chunked struct{ io.Reader }

const restInputClouds = `
rest: {max_body_bytes: 2048}
clouds:
  - name: local
    kind: sim
    zones: [z1, z2]
    options: ` + fastSim + `
`

func TestRESTHostileInput(t *testing.T) {
	e := newEnv(t, restInputClouds)
	big := `{"name": "` + strings.Repeat("x", 4096) + `"}`
	valid := `{"name":"web","flavor":"m1.small","image":"cirros-0.6.2","location":{"cloud":"local"}}`
	for _, c := range []restCase{
		// Bodies over rest.max_body_bytes: refused while read, 413 naming the limit.
		{name: "big body, length declared", method: "POST", path: "/v1/servers", body: strings.NewReader(big),
			status: 413, code: codes.ResourceExhausted, mentions: []string{"2048 bytes", "rest.max_body_bytes"}},
		{name: "big body, chunked", method: "POST", path: "/v1/servers", body: chunked{strings.NewReader(big)},
			status: 413, code: codes.ResourceExhausted, mentions: []string{"2048 bytes", "rest.max_body_bytes"}},
		{name: "big body on a keypair", method: "POST", path: "/v1/keypairs", body: chunked{strings.NewReader(big)},
			status: 413, code: codes.ResourceExhausted, mentions: []string{"rest.max_body_bytes"}},
		{name: "big body on an action", method: "POST", path: "/v1/servers/x:start", body: strings.NewReader(big),
			status: 413, code: codes.ResourceExhausted},

		// Text that is not UTF-8, in a path segment, a query parameter, a body.
		{name: "path not UTF-8", method: "GET", path: "/v1/servers/%FF%FE", status: 400, code: codes.InvalidArgument, fields: []string{"id"}},
		{name: "query not UTF-8", method: "GET", path: "/v1/servers?name=%FF%FE", status: 400, code: codes.InvalidArgument, fields: []string{"name"}},
		{name: "page token not UTF-8", method: "GET", path: "/v1/servers?page_token=%00%FF", status: 400, code: codes.InvalidArgument, fields: []string{"page_token"}},
		{name: "query name not UTF-8", method: "GET", path: "/v1/servers?%FF=1", status: 400, code: codes.InvalidArgument, fields: []string{`"\xff"`}},
		{name: "body not UTF-8", method: "POST", path: "/v1/servers", body: strings.NewReader("{\"name\":\"a\xffb\",\"flavor\":\"m1.small\"}"),
			status: 400, code: codes.InvalidArgument, fields: []string{"name"}},
		{name: "byte route path not UTF-8", method: "GET", path: "/v1/buckets/%FF/objects", status: 400, code: codes.InvalidArgument, fields: []string{"bucket"}},
		{name: "byte route query not UTF-8", method: "GET", path: "/v1/buckets/b/objects?prefix=%FF", status: 400, code: codes.InvalidArgument, fields: []string{"prefix"}},

		// A method the path lacks: 405 with Allow.
		{name: "PUT servers", method: "PUT", path: "/v1/servers", status: 405, code: codes.Unimplemented, allow: "GET, POST"},
		{name: "PATCH a server", method: "PATCH", path: "/v1/servers/abc", status: 405, code: codes.Unimplemented, allow: "GET, DELETE"},
		{name: "GET an action", method: "GET", path: "/v1/signingKeys:rotate", status: 405, code: codes.Unimplemented, allow: "POST"},
		{name: "DELETE the image upload", method: "DELETE", path: "/v1/images:upload", status: 405, code: codes.Unimplemented, allow: "POST"},
		{name: "POST an image file", method: "POST", path: "/v1/images/x/file", status: 405, code: codes.Unimplemented, allow: "GET"},
		{name: "no such path", method: "GET", path: "/v1/nothing/here", status: 404, code: codes.NotFound},

		// Data after the JSON body.
		{name: "trailing garbage", method: "POST", path: "/v1/servers", body: strings.NewReader(valid + " xyz"),
			status: 400, code: codes.InvalidArgument, fields: []string{"body"}, mentions: []string{"after the JSON object"}},
		{name: "two objects", method: "POST", path: "/v1/servers", body: strings.NewReader(valid + valid),
			status: 400, code: codes.InvalidArgument, fields: []string{"body"}},

		// Malformed JSON, wrong types, unknown fields: violations by wire name.
		{name: "malformed", method: "POST", path: "/v1/servers", body: strings.NewReader(`{"name":"x"`), status: 400, code: codes.InvalidArgument, fields: []string{"body"}},
		{name: "bad token", method: "POST", path: "/v1/servers", body: strings.NewReader(`{"name": tru}`), status: 400, code: codes.InvalidArgument, fields: []string{"name"}},
		{name: "not an object", method: "POST", path: "/v1/servers", body: strings.NewReader(`[1]`), status: 400, code: codes.InvalidArgument, fields: []string{"body"}},
		{name: "wrong types", method: "POST", path: "/v1/servers", body: strings.NewReader(`{"name":5,"wait":"yes","labels":{"a":1},"location":"local"}`),
			status: 400, code: codes.InvalidArgument, fields: []string{"name", "wait", "labels[a]", "location"}},
		{name: "unknown fields", method: "POST", path: "/v1/servers", body: strings.NewReader(`{"nme":"x","location":{"clod":"local"}}`),
			status: 400, code: codes.InvalidArgument, fields: []string{"nme", "location.clod"}, mentions: []string{"flavor", "zone"}},
		{name: "JSON names are wire names", method: "POST", path: "/v1/servers", body: strings.NewReader(`{"requestId":7}`),
			status: 400, code: codes.InvalidArgument, fields: []string{"request_id"}},
		{name: "out of range", method: "GET", path: "/v1/servers?page_size=99999999999", status: 400, code: codes.InvalidArgument, fields: []string{"page_size"}},
		{name: "not a number", method: "GET", path: "/v1/servers?page_size=ten", status: 400, code: codes.InvalidArgument, fields: []string{"page_size"}},

		// Enums as users type them, or an error listing them.
		{name: "short enum", method: "GET", path: "/v1/servers?status=active", status: 200, mentions: []string{`"servers":[]`}},
		{name: "short enum, any case", method: "GET", path: "/v1/servers?status=Active", status: 200},
		{name: "full enum", method: "GET", path: "/v1/servers?status=STATUS_ACTIVE", status: 200},
		{name: "bad enum", method: "GET", path: "/v1/servers?status=running", status: 400, code: codes.InvalidArgument, fields: []string{"status"},
			mentions: []string{"active", "pending", "STATUS_"}},

		// Unknown query parameters.
		{name: "unknown query parameter", method: "GET", path: "/v1/servers?stauts=active", status: 400, code: codes.InvalidArgument, fields: []string{"stauts"},
			mentions: []string{"status", "page_token", "location.cloud"}},
		{name: "query parameter on a body route", method: "POST", path: "/v1/servers?wait=true", body: strings.NewReader(valid),
			status: 400, code: codes.InvalidArgument, fields: []string{"wait"}},
		{name: "message as a parameter", method: "GET", path: "/v1/servers?location=local", status: 400, code: codes.InvalidArgument, fields: []string{"location"},
			mentions: []string{"location.cloud"}},
		{name: "repeated scalar", method: "GET", path: "/v1/servers?name=a&name=b", status: 400, code: codes.InvalidArgument, fields: []string{"name"}},
		{name: "map parameter", method: "GET", path: "/v1/servers?labels%5Btier%5D=web", status: 200},
		// A map entry given twice was a 500 (found by schemathesis).
		{name: "map entry twice", method: "GET", path: "/v1/servers?labels%5Btier%5D=web&labels%5Btier%5D=db", status: 400, code: codes.InvalidArgument, fields: []string{"labels[tier]"}},
		{name: "map entry twice on the image upload", method: "POST", path: "/v1/images:upload?name=i&disk_format=raw&labels%5B%5D=a&labels%5B%5D=b", body: strings.NewReader("x"),
			status: 400, code: codes.InvalidArgument, fields: []string{"labels[]"}},
		{name: "unknown parameter on a byte route", method: "GET", path: "/v1/buckets/b/objects?prefx=a", status: 400, code: codes.InvalidArgument, fields: []string{"prefx"}},
		{name: "unknown parameter on the image upload", method: "POST", path: "/v1/images:upload?nme=x", body: strings.NewReader("x"),
			status: 400, code: codes.InvalidArgument, fields: []string{"nme"}},

		// One error shape on the byte routes.
		{name: "byte route not found", method: "PUT", path: "/v1/buckets/nope/objects/a", body: strings.NewReader("x"),
			status: 404, code: codes.NotFound, mentions: []string{`"resource_type":"bucket"`}},
		{name: "byte route bad header", method: "PUT", path: "/v1/buckets/nope/objects/a", body: strings.NewReader("x"), header: map[string]string{headerPartSize: "big"},
			status: 400, code: codes.InvalidArgument, fields: []string{headerPartSize}},
	} {
		c.check(t, e)
	}

	// The body that was refused never made a server.
	r := e.restDo(t, "GET", "/v1/servers", nil, nil)
	if r.status != 200 || string(r.raw) != `{"servers":[],"cloud_errors":[],"unreachable":[]}` {
		t.Errorf("servers after the refusals: %d %s", r.status, r.raw)
	}
}

// A request within the limit, in the forms users write, still works; the
// limit does not bind uploads.
func TestRESTInputAccepted(t *testing.T) {
	e := newEnv(t, restInputClouds)
	r := restCase{name: "create", method: "POST", path: "/v1/servers",
		body:   strings.NewReader(`{"name":"web","flavor":"m1.small","image":"cirros-0.6.2","location":{"cloud":"local"},"requestId":"r-1","wait":true}` + "\n"),
		status: 200, mentions: []string{`"name":"web"`}}.check(t, e)
	id, _ := r.json["id"].(string)
	restCase{name: "action with an empty body", method: "POST", path: "/v1/servers/" + id + ":reboot", status: 200}.check(t, e)
	restCase{name: "delete with a query", method: "DELETE", path: "/v1/servers/" + id + "?wait=true", status: 200, mentions: []string{"STATUS_DELETED"}}.check(t, e)

	restCase{name: "bucket", method: "POST", path: "/v1/buckets", body: strings.NewReader(`{"name":"upl","location":{"cloud":"local"}}`), status: 200}.check(t, e)
	data := bytes.Repeat([]byte("0123456789"), 1000) // 10 kB > the 2 kB limit
	restCase{name: "upload above the body limit", method: "PUT", path: "/v1/buckets/upl/objects/blob", body: bytes.NewReader(data), status: 200,
		mentions: []string{`"size_bytes":"10000"`}}.check(t, e)
	restCase{name: "image upload above the body limit", method: "POST", path: "/v1/images:upload?name=img&disk_format=raw&location.cloud=local&labels%5Bos%5D=none",
		body: bytes.NewReader(data), status: 200, mentions: []string{`"name":"img"`, `"os":"none"`}}.check(t, e)
}

// Names as the clouds have them: a reference may hold '/', and a REST path
// takes it percent-encoded.
func TestRESTNamesWithSlashes(t *testing.T) {
	e := newEnv(t, restInputClouds)
	const ami = "ubuntu/images/hvm-ssd/ubuntu-noble-24.04-amd64-server-20240423"
	w, err := e.sim("local").NewImageWriter(ctxT(t), providers.ImageSpec{Name: ami, DiskFormat: "raw", ContainerFormat: "bare"})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte("ami"))
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	img := restCase{name: "get by encoded name", method: "GET", path: "/v1/images/" + strings.ReplaceAll(ami, "/", "%2F"), status: 200,
		mentions: []string{`"name":"` + ami + `"`}}.check(t, e)
	restCase{name: "create from it", method: "POST", path: "/v1/servers",
		body:   strings.NewReader(`{"name":"noble","flavor":"m1.small","image":"` + ami + `","location":{"cloud":"local"}}`),
		status: 200, mentions: []string{`"image_id":"` + img.json["id"].(string) + `"`}}.check(t, e)
	// The same over gRPC.
	sv, err := e.compute.CreateServer(ctxT(t), &canopyv1.CreateServerRequest{Name: "noble-2", Flavor: "m1.small", Image: ami, Location: &canopyv1.Location{Cloud: "local"}})
	if err != nil || sv.ImageId != img.json["id"] {
		t.Fatalf("gRPC create from %q: %v, %v", ami, sv, err)
	}
	// Names canopy gives still exclude '/'.
	_, err = e.compute.CreateServer(ctxT(t), &canopyv1.CreateServerRequest{Name: "a/b", Flavor: "m1.small", Image: ami, Location: &canopyv1.Location{Cloud: "local"}})
	wantErr(t, err, codes.InvalidArgument, "name", "'/'")
}

// Every list over REST carries its lists, even empty.
func TestRESTListsCarryTheirLists(t *testing.T) {
	e := newEnv(t, restInputClouds)
	restCase{name: "bucket", method: "POST", path: "/v1/buckets", body: strings.NewReader(`{"name":"empty","location":{"cloud":"local"}}`), status: 200}.check(t, e)
	for path, lists := range map[string][]string{
		"/v1/servers":                {"servers", "cloud_errors"},
		"/v1/flavors?name=none":      {"flavors", "cloud_errors"},
		"/v1/images?name=none":       {"images", "cloud_errors"},
		"/v1/keypairs":               {"keypairs", "cloud_errors"},
		"/v1/buckets?name=none":      {"buckets", "cloud_errors"},
		"/v1/volumes":                {"volumes", "cloud_errors"},
		"/v1/snapshots":              {"snapshots", "cloud_errors"},
		"/v1/backups":                {"backups", "cloud_errors"},
		"/v1/operations":             {"operations"},
		"/v1/buckets/empty/objects":  {"objects", "prefixes"},
		"/v1/containers?name=none":   {"containers", "cloud_errors"},
		"/v1/clients?page_size=1000": {"clients"},
		"/v1/clouds?page_size=1":     {"clouds"},
	} {
		r := e.restDo(t, "GET", path, nil, nil)
		if r.status != 200 {
			t.Errorf("GET %s = %d %s", path, r.status, r.raw)
			continue
		}
		for _, l := range lists {
			if v, ok := r.json[l].([]any); !ok || (l != "clouds" && l != "clients" && len(v) != 0) {
				t.Errorf("GET %s: %q is %v in %s", path, l, r.json[l], r.raw)
			}
		}
	}
}

// A REST upload is checked as a gRPC one: a wrong sha256 is DATA_LOSS in
// both, with the same code in the body; a sha256 sent after the bytes (an
// HTTP trailer, gRPC's last chunk) is stored and served like one sent up
// front.
func TestRESTUploadIntegrity(t *testing.T) {
	e := newObjEnv(t)
	ctx := ctxT(t)
	e.bucket(t, "sums", "local")
	data := randBytes(3*testPart+5, 9)
	restCase{name: "wrong sha256 in the header", method: "PUT", path: "/v1/buckets/sums/objects/bad", body: bytes.NewReader(data),
		header: map[string]string{headerSHA256: sha(data[1:])}, status: 500, code: codes.DataLoss, mentions: []string{"sha256", "nothing was stored"}}.check(t, e.env)
	_, err := e.upload(ctx, "sums", "bad-grpc", data, 50000, nil, sha(data[1:]))
	wantErr(t, err, codes.DataLoss, "", "sha256")

	put := func(key, trailer string) restResult {
		req, _ := http.NewRequestWithContext(ctx, "PUT", e.rest+"/v1/buckets/sums/objects/"+key, chunked{bytes.NewReader(data)})
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Trailer = http.Header{headerSHA256: {trailer}}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		r := restResult{status: resp.StatusCode, raw: raw}
		_ = json.Unmarshal(raw, &r.json)
		return r
	}
	if r := put("late", sha(data)); r.status != 200 || r.json["sha256"] != sha(data) {
		t.Fatalf("PUT with a sha256 trailer: %d %s", r.status, r.raw)
	}
	head, err := e.obj.GetObject(ctx, &canopyv1.GetObjectRequest{Bucket: "sums", Key: "late"})
	if err != nil || head.Sha256 != sha(data) {
		t.Errorf("sha256 from the trailer not stored: %v, %v", head, err)
	}
	if _, _, sum, err := e.download(ctx, &canopyv1.DownloadObjectRequest{Bucket: "sums", Key: "late"}); err != nil || sum != sha(data) {
		t.Errorf("download of an object whose sha256 came last: sum %q, %v", sum, err)
	}
	if r := put("late-bad", sha(data[1:])); r.status != 500 || r.json["code"] != float64(codes.DataLoss) {
		t.Errorf("PUT with a wrong sha256 trailer: %d %s", r.status, r.raw)
	}
	// Over gRPC, the sha256 with the last chunk is stored too.
	if _, err := e.upload(ctx, "sums", "late-grpc", data, 50000, nil, sha(data)); err != nil {
		t.Fatal(err)
	}
	if head, err := e.obj.GetObject(ctx, &canopyv1.GetObjectRequest{Bucket: "sums", Key: "late-grpc"}); err != nil || head.Sha256 != sha(data) {
		t.Errorf("gRPC: sha256 of the last chunk not stored: %v, %v", head, err)
	}
}

// A page_token canopy did not make is INVALID_ARGUMENT on object listings
// (which carry the cloud's own token inside canopy's), over gRPC and REST.
func TestObjectPageTokens(t *testing.T) {
	e := newObjEnv(t)
	ctx := ctxT(t)
	e.bucket(t, "pages", "local")
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		if _, err := e.upload(ctx, "pages", k, []byte(k), 10, nil, ""); err != nil {
			t.Fatal(err)
		}
	}
	var keys []string
	token := ""
	for range 10 {
		page, err := e.obj.ListObjects(ctx, &canopyv1.ListObjectsRequest{Bucket: "pages", PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Objects {
			keys = append(keys, o.Key)
		}
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	if strings.Join(keys, ",") != "a,b,c,d,e" {
		t.Errorf("paged keys %v", keys)
	}
	first, err := e.obj.ListObjects(ctx, &canopyv1.ListObjectsRequest{Bucket: "pages", PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	for name, req := range map[string]*canopyv1.ListObjectsRequest{
		"a key as token":   {Bucket: "pages", PageToken: "b"},
		"garbage":          {Bucket: "pages", PageToken: "%%%"},
		"other prefix":     {Bucket: "pages", Prefix: "c", PageToken: first.NextPageToken},
		"the sim's own":    {Bucket: "pages", PageToken: "sim1.Yg"},
		"empty json token": {Bucket: "pages", PageToken: "e30"},
	} {
		_, err := e.obj.ListObjects(ctx, req)
		wantErr(t, err, codes.InvalidArgument, "page_token", "")
		_ = name
	}
	restCase{name: "REST page token", method: "GET", path: "/v1/buckets/pages/objects?page_token=b", status: 400, code: codes.InvalidArgument, fields: []string{"page_token"}}.check(t, e.env)
}

// An object key with '/' is reached with its slashes as they are or
// percent-encoded (as Ansible's object module and curl --path-as-is send
// them); %252F is a literal %2F.
func TestRESTObjectKeysWithSlashes(t *testing.T) {
	e := newEnv(t, restInputClouds)
	restCase{name: "bucket", method: "POST", path: "/v1/buckets", body: strings.NewReader(`{"name":"keys","location":{"cloud":"local"}}`), status: 200}.check(t, e)
	for _, key := range []string{"x/y.txt", "lit%2Fkey"} {
		enc := strings.ReplaceAll(url.PathEscape(key), "%2F", "/")
		restCase{name: "put " + key, method: "PUT", path: "/v1/buckets/keys/objects/" + enc, body: strings.NewReader("data"), status: 200}.check(t, e)
	}
	restCase{name: "get plain", method: "GET", path: "/v1/buckets/keys/objects/x/y.txt", status: 200, mentions: []string{`"key":"x/y.txt"`}}.check(t, e)
	restCase{name: "get encoded", method: "GET", path: "/v1/buckets/keys/objects/x%2Fy.txt", status: 200, mentions: []string{`"key":"x/y.txt"`}}.check(t, e)
	restCase{name: "get literal %2F", method: "GET", path: "/v1/buckets/keys/objects/lit%252Fkey", status: 200, mentions: []string{`"key":"lit%2Fkey"`}}.check(t, e)
	// The download's own path (/download/…, for clients generated from
	// /openapi.json) answers the bytes, a range, and the one error shape.
	for _, p := range []string{"/download/v1/buckets/keys/objects/x/y.txt", "/download/v1/buckets/keys/objects/x%2Fy.txt"} {
		if r := e.restDo(t, "GET", p, nil, nil); r.status != 200 || string(r.raw) != "data" {
			t.Errorf("GET %s = %d %q, want 200 \"data\"", p, r.status, r.raw)
		}
	}
	if r := e.restDo(t, "GET", "/download/v1/buckets/keys/objects/x/y.txt", nil, map[string]string{"Range": "bytes=1-2"}); r.status != 206 || string(r.raw) != "at" {
		t.Errorf("ranged download = %d %q, want 206 \"at\"", r.status, r.raw)
	}
	restCase{name: "download missing", method: "GET", path: "/download/v1/buckets/keys/objects/nope", status: 404, code: codes.NotFound}.check(t, e)
	restCase{name: "download, unknown parameter", method: "GET", path: "/download/v1/buckets/keys/objects/x/y.txt?sz=1", status: 400, code: codes.InvalidArgument, fields: []string{"sz"}}.check(t, e)
	restCase{name: "delete encoded", method: "DELETE", path: "/v1/buckets/keys/objects/x%2Fy.txt", status: 200}.check(t, e)
	restCase{name: "gone", method: "GET", path: "/v1/buckets/keys/objects/x/y.txt", status: 404, code: codes.NotFound}.check(t, e)
}
