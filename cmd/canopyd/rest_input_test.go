package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

// Hostile REST input against the built binary, with the body limit set in
// its config file: each answer's status, error body and headers.
func TestRESTHostileInputEndToEnd(t *testing.T) {
	d := canopydtest.Start(t, t.TempDir(), "--config", canopydtest.WriteConfig(t, e2eConfig+"rest: {max_body_bytes: 4096}\n"))
	valid := `{"name":"x","flavor":"m1.small","image":"debian-12","location":{"cloud":"local"}}`
	for _, tc := range []struct {
		method, path, body string
		status             int
		code               float64
		field, allow, has  string
	}{
		{"POST", "/v1/servers", `{"name":"` + strings.Repeat("x", 5000) + `"}`, 413, 8, "", "", "4096 bytes"},
		{"GET", "/v1/servers/%FF%FE", "", 400, 3, "id", "", ""},
		{"GET", "/v1/servers?name=%FF%FE", "", 400, 3, "name", "", ""},
		{"GET", "/v1/servers?page_token=%00%FF", "", 400, 3, "page_token", "", ""},
		{"PUT", "/v1/servers", "", 405, 12, "", "GET, POST", ""},
		{"POST", "/v1/servers", valid + " xyz", 400, 3, "body", "", "after the JSON object"},
		{"POST", "/v1/servers", `{"name":5}`, 400, 3, "name", "", ""},
		{"POST", "/v1/servers", `{"location":{"zne":"a"}}`, 400, 3, "location.zne", "", ""},
		{"GET", "/v1/servers?stauts=active", "", 400, 3, "stauts", "", ""},
		{"GET", "/v1/servers?status=active", "", 200, 0, "", "", `"servers":[]`},
		{"GET", "/v1/buckets/none/objects?prefx=a", "", 400, 3, "prefx", "", `"field_violations"`},
	} {
		var body io.Reader
		if tc.body != "" {
			body = strings.NewReader(tc.body)
		}
		req, _ := http.NewRequest(tc.method, "http://"+d.RESTAddr+tc.path, body)
		req.Header.Set("Authorization", "Bearer "+d.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var got map[string]any
		_ = json.Unmarshal(raw, &got)
		switch {
		case resp.StatusCode != tc.status:
			t.Errorf("%s %s = %d %s, want %d", tc.method, tc.path, resp.StatusCode, raw, tc.status)
		case tc.status >= 400 && got["code"] != tc.code:
			t.Errorf("%s %s: code %v, want %v: %s", tc.method, tc.path, got["code"], tc.code, raw)
		case tc.field != "" && !strings.Contains(string(raw), `"field":"`+tc.field+`"`):
			t.Errorf("%s %s: no violation on %q: %s", tc.method, tc.path, tc.field, raw)
		case tc.allow != "" && resp.Header.Get("Allow") != tc.allow:
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, resp.Header.Get("Allow"), tc.allow)
		case tc.has != "" && !strings.Contains(string(raw), tc.has):
			t.Errorf("%s %s: %s lacks %q", tc.method, tc.path, raw, tc.has)
		}
	}
}

// A misspelt config key stops canopyd with the key named.
func TestConfigUnknownKeyFailsClearly(t *testing.T) {
	d := canopydtest.WriteConfig(t, "clouds: [{name: a, kind: sim, zones: [z]}]\nwait: {max_intervall: 1s}\n")
	cmd := canopydCommand(t, "--config", d)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `unknown key "max_intervall"`) || !strings.Contains(string(out), "max_interval") {
		t.Fatalf("config with a typo: err %v, output %s", err, out)
	}
}

// canopydCommand is the built canopyd with args, on free loopback ports
// and with a data dir of its own.
func canopydCommand(t *testing.T, args ...string) *exec.Cmd {
	cmd := exec.Command(canopydtest.Binary(t), append(args, "--grpc-addr", canopydtest.FreePort(t), "--rest-addr", canopydtest.FreePort(t))...)
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir())
	return cmd
}
