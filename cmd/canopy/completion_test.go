package main

import (
	"strings"
	"testing"
)

// complete runs the shell's completion request (`canopy __complete …`)
// against addr and returns the candidates and the directive line.
func complete(t *testing.T, addr string, words ...string) (cands []string, directive string) {
	t.Helper()
	d, _ := daemons.Load(addr)
	args := append([]string{"__complete", "--addr", addr, "--token", d.(daemonInfo).token, "--credentials", "/nonexistent/canopy-test"}, words...)
	r := cli(t, "", args...)
	if r.code != 0 {
		t.Fatalf("canopy %s: exit %d\n%s\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	directive = lines[len(lines)-1]
	for _, l := range lines[:len(lines)-1] {
		if l != "" {
			cands = append(cands, l)
		}
	}
	return cands, directive
}

func hasCand(cands []string, value string) bool {
	for _, c := range cands {
		if v, _, _ := strings.Cut(c, "\t"); v == value {
			return true
		}
	}
	return false
}

func TestCompletionOfResourceNames(t *testing.T) {
	addr := startCanopyd(t, objectsLocal)
	ok(t, addr, "server", "create", "web-1", "--flavor", "m1.small", "--image", "debian-12", "--cloud", "local", "--wait")
	ok(t, addr, "server", "create", "web-2", "--flavor", "m1.small", "--image", "debian-12", "--cloud", "local")
	ok(t, addr, "server", "create", "db-1", "--flavor", "m1.small", "--image", "debian-12", "--cloud", "importing")
	ok(t, addr, "server", "create", "db-1", "--flavor", "m1.small", "--image", "debian-12", "--cloud", "local")
	ok(t, addr, "bucket", "create", "logs", "--cloud", "local")
	ok(t, addr, "volume", "create", "data", "--size", "1", "--cloud", "local", "--wait")

	// A positional ID|NAME completes its group's kind, by prefix.
	cands, dir := complete(t, addr, "server", "get", "web")
	if len(cands) != 2 || !hasCand(cands, "web-1") || !hasCand(cands, "web-2") || dir != ":4" {
		t.Errorf("server get web<TAB> = %q %s", cands, dir)
	}
	// A name two servers share is no reference: their ids are offered,
	// each described by the name.
	cands, _ = complete(t, addr, "server", "delete", "web-1", "")
	n := 0
	for _, c := range cands {
		if strings.HasSuffix(c, "\tdb-1") {
			n++
		}
	}
	if n != 2 || hasCand(cands, "db-1") {
		t.Errorf("server delete web-1 <TAB> = %q: want the two db-1 ids", cands)
	}
	// Flags name their kind: --flavor, --image, --cloud, --volume.
	cands, _ = complete(t, addr, "server", "create", "x", "--flavor", "m1.s")
	if !hasCand(cands, "m1.small") || hasCand(cands, "m1.tiny") {
		t.Errorf("--flavor m1.s<TAB> = %q", cands)
	}
	// Catalogue names are offered once, whatever the number of clouds.
	if cands, _ = complete(t, addr, "server", "create", "x", "--image", "deb"); len(cands) != 1 || cands[0] != "debian-12\tin 2 clouds" {
		t.Errorf("--image <TAB> = %q", cands)
	}
	if cands, _ = complete(t, addr, "server", "list", "--cloud", ""); len(cands) != 3 || !hasCand(cands, "importing") {
		t.Errorf("--cloud <TAB> = %q", cands)
	}
	if cands, _ = complete(t, addr, "snapshot", "create", "s", "--volume", ""); len(cands) != 1 || !hasCand(cands, "data") {
		t.Errorf("snapshot create --volume <TAB> = %q", cands)
	}
	// Zones come from the clouds, each described by its cloud.
	if cands, _ = complete(t, addr, "server", "create", "x", "--zone", "i-"); len(cands) != 1 || cands[0] != "i-1a\tcloud importing" {
		t.Errorf("--zone i-<TAB> = %q", cands)
	}
	// A placeholder names its kind wherever it is: volume attach's --server.
	if cands, _ = complete(t, addr, "volume", "attach", "data", "--server", "web-"); len(cands) != 2 {
		t.Errorf("volume attach --server web-<TAB> = %q", cands)
	}
	// BUCKET/KEY: the bucket and a slash, no space after it.
	cands, dir = complete(t, addr, "object", "get", "lo")
	if len(cands) != 1 || !hasCand(cands, "logs/") || dir != ":6" {
		t.Errorf("object get lo<TAB> = %q %s", cands, dir)
	}
	// After the last argument, nothing; a FILE is the shell's own.
	if cands, _ = complete(t, addr, "server", "get", "web-1", ""); len(cands) != 0 {
		t.Errorf("server get web-1 <TAB> = %q", cands)
	}
	if _, dir = complete(t, addr, "image", "download", "debian-12", ""); dir != ":0" {
		t.Errorf("image download IMAGE <TAB>: directive %s, want file completion", dir)
	}
	// The container group's --volume is a bind mount, not a volume.
	if cands, _ = complete(t, addr, "container", "run", "--volume", ""); len(cands) != 0 {
		t.Errorf("container run --volume <TAB> = %q", cands)
	}
	// Global flags: --output and --profile.
	if cands, _ = complete(t, addr, "server", "list", "-o", ""); strings.Join(cands, ",") != "table,json,yaml" {
		t.Errorf("-o <TAB> = %q", cands)
	}
	// canopyd unreachable: no candidates and the error directive, fast.
	r := cli(t, "", "__complete", "--addr", "127.0.0.1:1", "--token", "x", "server", "get", "")
	if r.code != 0 || !strings.HasSuffix(strings.TrimSpace(r.stdout), ":5") {
		t.Errorf("completion with canopyd down: %d %q", r.code, r.stdout)
	}
}

func TestPlaceholders(t *testing.T) {
	for use, want := range map[string]string{
		"get ID|NAME":               "ID|NAME",
		"delete ID|NAME...":         "ID|NAME...",
		"attach ID|NAME --server S": "ID|NAME",
		"update [--cpus N] [-m SIZE] [--restart POLICY] CONTAINER...":    "CONTAINER...",
		"exec [flags] CONTAINER COMMAND [ARG...]":                        "CONTAINER COMMAND ARG...",
		"add-interface ROUTER SUBNET":                                    "ROUTER SUBNET",
		"associate FIP (--server S | --port P)":                          "FIP",
		"cp SRC_BUCKET/KEY DST_BUCKET[/KEY]":                             "SRC_BUCKET/KEY DST_BUCKET[/KEY]",
		"list":                                                           "",
		"watch [--cloud C] [--name N] [--label k=v]... [--id ID]...":     "",
		"login --client-id ID --client-secret SECRET|- [--profile NAME]": "",
	} {
		var got []string
		for _, p := range placeholders(use) {
			w := p.word
			if p.repeat {
				w += "..."
			}
			got = append(got, w)
		}
		if strings.Join(got, " ") != want {
			t.Errorf("placeholders(%q) = %q, want %q", use, got, want)
		}
	}
}
