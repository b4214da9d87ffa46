package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/canopy-cloud/canopy/client"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

// getMetrics fetches /metrics with token ("" for none).
func getMetrics(t *testing.T, d *canopydtest.Daemon, token string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+d.RESTAddr+"/metrics", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

// metrics.require_token puts /metrics behind a bearer token with the
// configured scope; without it /metrics stays open.
func TestMetricsToken(t *testing.T) {
	d := canopydtest.Start(t, t.TempDir())
	if code, _, body := getMetrics(t, d, ""); code != 200 || !strings.Contains(body, "canopy_") {
		t.Errorf("open /metrics: %d", code)
	}
	d.Stop()

	cfg := canopydtest.WriteConfig(t, "metrics: {require_token: true, scope: canopy.write}\n")
	d = canopydtest.Start(t, t.TempDir(), "--config", cfg)
	// No token, or a bad one: 401 in the REST error shape.
	for _, tok := range []string{"", "not-a-token"} {
		code, h, body := getMetrics(t, d, tok)
		var st struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if code != 401 || h.Get("WWW-Authenticate") == "" || json.Unmarshal([]byte(body), &st) != nil || st.Code != 16 || strings.Contains(body, "canopy_") {
			t.Errorf("/metrics with token %q: %d %q %s", tok, code, h.Get("WWW-Authenticate"), body)
		}
	}
	// A token with too little scope: 403 naming the scope needed.
	ctx := context.Background()
	reader, err := d.Auth.CreateClient(ctx, &canopyv1.CreateClientRequest{Name: "scraper", Project: "default", Scopes: []string{"canopy.read"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := client.Credentials{ClientID: reader.Client.Id, ClientSecret: reader.ClientSecret, TokenURL: "http://" + d.RESTAddr + "/oauth2/token"}.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, body := getMetrics(t, d, tok.AccessToken); code != 403 || !strings.Contains(body, "needs scope canopy.write") {
		t.Errorf("/metrics with a canopy.read token: %d %s", code, body)
	}
	// The admin's token has every scope.
	if code, _, body := getMetrics(t, d, d.Token); code != 200 || !strings.Contains(body, "canopy_") {
		t.Errorf("/metrics with the admin token: %d %.200s", code, body)
	}
}
