//go:build openstack && aws

package main

// Helpers of networks_e2e_test.go: operations, polling, the figures, the
// drift reports, and what a group's rules must be in a cloud.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

type netE2E struct {
	t   *testing.T
	ctx context.Context
	d   *canopydtest.Daemon
	nc  canopyv1.NetworkServiceClient
	ops canopyv1.OperationServiceClient
}

// done waits for an operation and returns its error as a status.
func (e *netE2E) done(op *canopyv1.Operation, err error) (*canopyv1.Operation, error) {
	if err != nil {
		return nil, err
	}
	for !op.Done {
		if op, err = e.ops.WaitOperation(e.ctx, &canopyv1.WaitOperationRequest{Id: op.Id, Timeout: durationpb.New(10 * time.Second)}); err != nil {
			return nil, err
		}
	}
	if oe := op.GetError(); oe != nil {
		return op, status.Error(codes.Code(oe.Code), oe.Message)
	}
	return op, nil
}

// poll calls f every 100ms until it returns nil or the time is up, and
// returns how long it took.
func poll(ctx context.Context, within time.Duration, f func() error) (time.Duration, error) {
	start := time.Now()
	var err error
	for time.Since(start) < within && ctx.Err() == nil {
		if err = f(); err == nil {
			return time.Since(start), nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start), err
}

// realizeTimes logs how long each realization took in each cloud, from
// canopy's operations (created → last update).
func (e *netE2E) realizeTimes(ctx context.Context) {
	for _, kind := range []string{"network.realize", "security_group.realize"} {
		out, err := e.ops.ListOperations(ctx, &canopyv1.ListOperationsRequest{Kind: kind, PageSize: 100})
		if err != nil {
			e.t.Errorf("list %s operations: %v", kind, err)
			continue
		}
		if len(out.Operations) != 2 {
			e.t.Errorf("%d %s operations, want one per cloud: %v", len(out.Operations), kind, out.Operations)
		}
		for _, op := range out.Operations {
			m := op.GetMetadata()
			e.t.Logf("FIGURE %s in %s: %.2fs (%d attempts)", kind, m.GetLocation().GetCloud(),
				m.GetUpdateTime().AsTime().Sub(m.GetCreateTime().AsTime()).Seconds(), m.GetAttempts())
		}
	}
}

// driftReported checks the repairs were reported: a log line and the
// drift metric, per cloud.
func (e *netE2E) driftReported() {
	logs := e.d.Logs()
	for _, cloud := range []string{"lab", "aws"} {
		if !strings.Contains(grepLines(logs, "repaired a global security group"), "cloud="+cloud) {
			e.t.Errorf("no repair log line for %s:\n%s", cloud, grepLines(logs, "reconcile"))
		}
	}
	resp, err := http.Get("http://" + e.d.RESTAddr + "/metrics")
	if err != nil {
		e.t.Errorf("metrics: %v", err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, cloud := range []string{"lab", "aws"} {
		if !strings.Contains(string(body), `canopy_network_drift_total{cloud="`+cloud+`",what="security_group_rule"}`) {
			e.t.Errorf("the drift metric does not count %s:\n%s", cloud, grepLines(string(body), "drift"))
		}
	}
}

// grepLines keeps the lines holding any of subs.
func grepLines(s string, subs ...string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		for _, sub := range subs {
			if strings.Contains(line, sub) {
				out = append(out, line)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// expectRules polls a cloud until the group holds exactly: ssh from
// anywhere, tcp 7000 from itself and tcp 7000 from each of peers (the
// expanded members of its other realizations) — and no other ingress
// rule. It returns how long that took.
func expectRules(ctx context.Context, c nativeCloud, group string, within time.Duration, peers ...string) (time.Duration, error) {
	var last []nativeRule
	took, err := poll(ctx, within, func() error {
		rs, err := c.groupRules(ctx, group)
		if err != nil {
			return err
		}
		last = rs
		ingress := 0
		for _, r := range rs {
			if r.Dir == "ingress" {
				ingress++
			}
		}
		var missing []string
		if _, ok := findRule(rs, 22, "0.0.0.0/0", ""); !ok {
			missing = append(missing, "ssh from 0.0.0.0/0")
		}
		if _, ok := findRule(rs, 7000, "", group); !ok {
			missing = append(missing, "7000 from the group itself")
		}
		for _, p := range peers {
			if _, ok := findRule(rs, 7000, p, ""); !ok {
				missing = append(missing, "7000 from "+p)
			}
		}
		if len(missing) > 0 || ingress != 2+len(peers) {
			return fmt.Errorf("missing %v; %d ingress rules, want %d", missing, ingress, 2+len(peers))
		}
		return nil
	})
	if err != nil {
		return took, fmt.Errorf("%v\n%v", err, last)
	}
	return took, nil
}
