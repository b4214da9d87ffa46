package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		name, mod string
		settings  []debug.BuildSetting
		want      string
	}{
		{"release", "v1.2.3", []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
			{Key: "vcs.modified", Value: "false"}, {Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "arm64"}},
			"canopyd v1.2.3 (commit 0123456789ab, 2026-12-01T10:00:00Z) go1.26.0 linux/arm64"},
		{"work tree", "(devel)", []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"}, {Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "amd64"}},
			"canopyd (devel) (commit abc+modified) go1.26.0 linux/amd64"},
		{"no vcs", "", []debug.BuildSetting{{Key: "GOOS", Value: "darwin"}, {Key: "GOARCH", Value: "arm64"}},
			"canopyd (devel) (no commit recorded) go1.26.0 darwin/arm64"},
	} {
		if got := describe("canopyd", tc.mod, tc.settings, "go1.26.0"); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if s := String("canopy"); !strings.HasPrefix(s, "canopy ") || !strings.Contains(s, "go1.") {
		t.Errorf("String = %q", s)
	}
}
