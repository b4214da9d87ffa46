package main

import (
	"strings"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// parseServerKind reads --kind: "vm" or "container" (any case, with or
// without the SERVER_KIND_ prefix); empty is every kind.
func parseServerKind(v string) (canopyv1.ServerKind, error) {
	if v == "" {
		return canopyv1.ServerKind_SERVER_KIND_UNSPECIFIED, nil
	}
	name := strings.ToUpper(v)
	if !strings.HasPrefix(name, "SERVER_KIND_") {
		name = "SERVER_KIND_" + name
	}
	if k, ok := canopyv1.ServerKind_value[name]; ok && k != 0 {
		return canopyv1.ServerKind(k), nil
	}
	return 0, usageErrorf("--kind %q: want vm or container", v)
}

// serverKindWord is a kind as --kind spells it.
func serverKindWord(k canopyv1.ServerKind) string {
	if k == canopyv1.ServerKind_SERVER_KIND_UNSPECIFIED {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(k.String(), "SERVER_KIND_"))
}
