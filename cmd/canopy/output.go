package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gopkg.in/yaml.v3"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// jsonOpts: proto field names and every field present, so scripts see a
// stable shape. The compact output is re-indented with encoding/json, since
// protojson's own multi-line form varies its spacing on purpose.
var jsonOpts = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}

// emit prints m as JSON or YAML, or calls table for the table format.
func (a *app) emit(m proto.Message, table func(w io.Writer)) error {
	switch a.output {
	case "json", "yaml":
		raw, err := jsonOpts.Marshal(m)
		if err != nil {
			return err
		}
		var ind bytes.Buffer
		if err := json.Indent(&ind, raw, "", "  "); err != nil {
			return err
		}
		b := ind.Bytes()
		if a.output == "yaml" {
			if b, err = jsonToYAML(b); err != nil {
				return err
			}
		} else {
			b = append(b, '\n')
		}
		_, err = a.stdout.Write(b)
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 8, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// jsonToYAML re-encodes a JSON document as block-style YAML, keeping the
// key order (yaml.v3 reads JSON, which is YAML in flow style).
func jsonToYAML(b []byte) ([]byte, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return nil, err
	}
	var plain func(*yaml.Node)
	plain = func(n *yaml.Node) {
		n.Style = 0 // block collections, plain scalars (quoted where needed)
		for _, c := range n.Content {
			plain(c)
		}
	}
	plain(&n)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// rows writes a header and rows as tab-separated cells; empty cells show
// as "-".
func rows(w io.Writer, header []string, rs [][]string) {
	fmt.Fprintln(w, strings.Join(header, "\t"))
	for _, r := range rs {
		cells := make([]string, len(r))
		for i, c := range r {
			if c == "" {
				c = "-"
			}
			cells[i] = c
		}
		fmt.Fprintln(w, strings.Join(cells, "\t"))
	}
}

// field is one line of a detail view.
type field struct{ key, value string }

// details writes "Key:  value" lines, skipping empty values.
func details(w io.Writer, fs []field) {
	for _, f := range fs {
		if f.value != "" {
			fmt.Fprintf(w, "%s:\t%s\n", f.key, f.value)
		}
	}
}

// statusWord is the normalized status as a lower-case word: "active".
func statusWord(s canopyv1.Status) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "STATUS_"))
}

// statusWithRaw is "active (ACTIVE)": the normalized status and the
// cloud's own word when it says more.
func statusWithRaw(s canopyv1.Status, raw string) string {
	w := statusWord(s)
	if raw != "" && !strings.EqualFold(raw, w) {
		w += " (" + raw + ")"
	}
	return w
}

// mib formats a size in MiB: "512 MiB", "4 GiB".
func mib(n int64) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%d GiB", n/1024)
	}
	return fmt.Sprintf("%d MiB", n)
}

func gib(n int64) string {
	if n == 0 {
		return "0"
	}
	return fmt.Sprintf("%d GiB", n)
}

// byteSize formats a byte count with a binary unit.
func byteSize(n int64) string {
	if n <= 0 {
		return ""
	}
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// kv formats labels as "a=b, c=d" in key order.
func kv(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ", ")
}

func when(t *timestamppb.Timestamp) string {
	if t == nil {
		return ""
	}
	return t.AsTime().Local().Format(time.RFC3339)
}

func join(s []string) string { return strings.Join(s, ", ") }
