package render

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"
)

// Templates are Go text/template sources. Their data is the inputs by
// name ({{.hostname}}, {{range .ssh_keys}}…{{end}}); a template that
// references an input the manifest does not declare is refused before
// anything is rendered, whether or not that branch would run.

// funcs are the helpers templates may call beyond the built-ins.
var funcs = template.FuncMap{
	"join":  strings.Join,
	"lines": func(l []string) string { return strings.Join(l, "\n") },
	"quote": func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" },
}

// MaxTemplate bounds a template file's size.
const MaxTemplate = 1 << 20

// parseTemplate parses one template and checks that every input it
// references at the top level is declared.
func parseTemplate(field, name string, src []byte, declared map[string]Input) (*template.Template, error) {
	t, err := template.New(name).Funcs(funcs).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return nil, bad(field, "%s: not a Go template: %v", name, err)
	}
	var refs []string
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			walk(tt.Tree.Root, true, &refs)
		}
	}
	sort.Strings(refs)
	for _, r := range refs {
		if _, ok := declared[r]; !ok {
			return nil, bad(field, "%s references input %q, which the manifest's inputs do not declare", name, r)
		}
	}
	return t, nil
}

// walk collects the input names a template references: .x where dot is
// still the inputs (outside range and with), and $.x anywhere.
func walk(n parse.Node, top bool, refs *[]string) {
	if n == nil {
		return
	}
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walk(c, top, refs)
		}
	case *parse.ActionNode:
		walk(n.Pipe, top, refs)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walk(c, top, refs)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			walk(a, top, refs)
		}
	case *parse.FieldNode:
		if top && len(n.Ident) > 0 {
			*refs = append(*refs, n.Ident[0])
		}
	case *parse.ChainNode:
		walk(n.Node, top, refs)
	case *parse.VariableNode:
		if len(n.Ident) > 1 && n.Ident[0] == "$" {
			*refs = append(*refs, n.Ident[1])
		}
	case *parse.IfNode:
		walk(n.Pipe, top, refs)
		walk(n.List, top, refs)
		walk(n.ElseList, top, refs)
	case *parse.RangeNode:
		walk(n.Pipe, top, refs)
		walk(n.List, false, refs)
		walk(n.ElseList, top, refs)
	case *parse.WithNode:
		walk(n.Pipe, top, refs)
		walk(n.List, false, refs)
		walk(n.ElseList, top, refs)
	case *parse.TemplateNode:
		walk(n.Pipe, top, refs)
	}
}

// Fill renders the manifest's templates in the tree at dir with the
// inputs, in place, and returns what each became (by path relative to the
// root).
func Fill(dir string, m *Manifest, values map[string]any) (map[string][]byte, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("render: open %s: %w", dir, err)
	}
	defer root.Close()
	out := map[string][]byte{}
	for i, p := range m.Templates {
		field := fmt.Sprintf("templates[%d]", i)
		rel := strings.TrimPrefix(p, "/")
		fi, err := root.Lstat(rel)
		if err != nil {
			return nil, bad(field, "%s is not in the tarball", p)
		}
		if !fi.Mode().IsRegular() {
			return nil, bad(field, "%s is not a regular file", p)
		}
		if fi.Size() > MaxTemplate {
			return nil, bad(field, "%s: %d bytes, a template holds at most %d", p, fi.Size(), MaxTemplate)
		}
		f, err := root.Open(rel)
		if err != nil {
			return nil, fmt.Errorf("render: %s: %w", p, err)
		}
		src, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("render: %s: %w", p, err)
		}
		t, err := parseTemplate(field, p, src, m.Inputs)
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		if err := t.Execute(&b, values); err != nil {
			return nil, bad(field, "%s: %v", p, err)
		}
		w, err := root.OpenFile(rel, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return nil, fmt.Errorf("render: %s: %w", p, err)
		}
		_, err = w.Write(b.Bytes())
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("render: write %s: %w", p, err)
		}
		_ = root.Chtimes(rel, fi.ModTime(), fi.ModTime())
		out[rel] = b.Bytes()
	}
	return out, nil
}

// CheckTemplate parses a template source against declared inputs; the
// fuzz target and the tests use it.
func CheckTemplate(src []byte, declared map[string]Input) error {
	_, err := parseTemplate("templates[0]", "t", src, declared)
	return err
}
