package server

import (
	"encoding/json"
	"strings"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/store"
)

// Stages are the parts of an operation that report progress of their own
// (OperationMetadata.stages): an image replication's target clouds, a
// render's fetch, render, convert and uploads. They live in the
// operation's State, so they are as durable as its steps: "stages" lists
// the names in order, "stage:<name>" holds each one as JSON.

// stage is one stage as State keeps it.
type stage struct {
	State  string `json:"state"`
	Done   int64  `json:"done,omitempty"`
	Total  int64  `json:"total,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// declareStages records the stages' names, in order, all pending.
func declareStages(op *store.Operation, names ...string) {
	if op.State == nil {
		op.State = map[string]string{}
	}
	op.State["stages"] = strings.Join(names, ",")
	for _, n := range names {
		if op.State["stage:"+n] == "" {
			setStage(op, n, stage{State: "pending"})
		}
	}
}

// setStage records where one stage is.
func setStage(op *store.Operation, name string, s stage) {
	if op.State == nil {
		op.State = map[string]string{}
	}
	raw, _ := json.Marshal(s)
	op.State["stage:"+name] = string(raw)
}

// getStage is one stage as recorded.
func getStage(op store.Operation, name string) stage {
	var s stage
	_ = json.Unmarshal([]byte(op.State["stage:"+name]), &s)
	return s
}

// stagesPB are the stages as OperationMetadata shows them.
func stagesPB(op store.Operation) []*canopyv1.OperationStage {
	if op.State["stages"] == "" {
		return nil
	}
	var out []*canopyv1.OperationStage
	for _, n := range strings.Split(op.State["stages"], ",") {
		s := getStage(op, n)
		out = append(out, &canopyv1.OperationStage{Name: n, State: s.State, BytesDone: s.Done, BytesTotal: s.Total, Detail: s.Detail})
	}
	return out
}
