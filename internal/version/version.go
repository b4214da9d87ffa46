// Package version says which build of canopy is running, for the binaries'
// --version. It reads what the Go toolchain stamps into every binary (the
// module version, the VCS revision and time, whether the tree was
// modified), so there is no version string to keep in step by hand.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// String describes this build of the named binary, e.g.
//
//	canopyd v0.4.0 (commit 1a2b3c4d5e6f, 2026-12-01T10:00:00Z) go1.26.0 linux/amd64
//
// A binary built from a work tree has module version "(devel)" and names
// its commit, with "+modified" when the tree had uncommitted changes; one
// built without VCS information (go run, tests) says so.
func String(binary string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return fmt.Sprintf("%s (no build information) %s %s/%s", binary, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	}
	return describe(binary, info.Main.Version, info.Settings, info.GoVersion)
}

// describe formats the build settings String reads.
func describe(binary, modVersion string, settings []debug.BuildSetting, goVersion string) string {
	var rev, at, os, arch string
	modified := false
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		case "GOOS":
			os = s.Value
		case "GOARCH":
			arch = s.Value
		}
	}
	if os == "" {
		os, arch = runtime.GOOS, runtime.GOARCH
	}
	if modVersion == "" {
		modVersion = "(devel)"
	}
	vcs := "no commit recorded"
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		vcs = "commit " + rev
		if modified {
			vcs += "+modified"
		}
		if at != "" {
			vcs += ", " + at
		}
	}
	return fmt.Sprintf("%s %s (%s) %s %s/%s", binary, modVersion, vcs, goVersion, os, arch)
}
