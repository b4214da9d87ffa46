package providertest

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

// TestCapabilityInterfacesComplete checks that Interfaces knows every
// interface package providers declares, but for the writers.
func TestCapabilityInterfacesComplete(t *testing.T) {
	files, err := filepath.Glob("../*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("package providers sources: %v (%d files)", err, len(files))
	}
	notCapabilities := map[string]bool{"ObjectWriter": true, "ImageWriter": true, "LogReader": true, "Exec": true, "SHA256Committer": true, "ChangeSink": true}
	var declared []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			if _, isIface := ts.Type.(*ast.InterfaceType); isIface && ts.Name.IsExported() && !notCapabilities[ts.Name.Name] {
				declared = append(declared, ts.Name.Name)
			}
			return false
		})
	}
	slices.Sort(declared)
	var known []string
	for _, c := range capabilityInterfaces {
		known = append(known, c.name)
	}
	slices.Sort(known)
	if !slices.Equal(declared, known) {
		t.Errorf("package providers declares interfaces %v; providertest.Interfaces knows %v", declared, known)
	}
}

type onlyProvider struct{}

func (onlyProvider) Info(ctx context.Context) (providers.Info, error) { return providers.Info{}, nil }
func (onlyProvider) Close() error                                     { return nil }

type limitedProvider struct{ onlyProvider }

func (limitedProvider) Has(string) bool { return false }

func TestInterfaces(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want []string
	}{
		{"nil", nil, nil},
		{"not a provider", struct{}{}, nil},
		{"provider", onlyProvider{}, []string{"Provider"}},
		{"limited", (*limitedProvider)(nil), []string{"Limited", "Provider"}},
	} {
		if got := Interfaces(tc.v); !slices.Equal(got, tc.want) {
			t.Errorf("%s: Interfaces = %v, want %v", tc.name, got, tc.want)
		}
	}
}
