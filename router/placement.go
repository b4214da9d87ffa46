package router

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	"github.com/canopy-cloud/canopy/config"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/sched"
)

// placement puts the scheduler (sched.Placer) under a container cloud's
// creates when its hosts report themselves and placement applies: the
// config has a scheduler: block, or the cloud has several hosts. Both the
// container service and the servers view create through cl.Containers,
// so both are placed.
func (r *Router) placement(ctx context.Context, cl *Cloud) error {
	conf := cl.Conf.Scheduler
	rep, ok := cl.Provider.(providers.HostReporter)
	if !ok || cl.Containers == nil {
		if conf != nil {
			return fmt.Errorf("cloud %q: scheduler: a %s cloud has no hosts canopy places containers on (docker and containerd clouds do)", cl.Name, cl.Kind)
		}
		return nil
	}
	if conf == nil {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		reports, err := rep.HostReports(ctx)
		cancel()
		// A cloud that does not answer now is placed once it does: the
		// scheduler asks the hosts at every create.
		if err == nil && len(reports) < 2 {
			return nil
		}
		conf = &config.Scheduler{}
	}
	cl.Containers.Containers = sched.NewPlacer(cl.Name, cl.Containers.Containers, rep, r.store, sched.Options{TenantIsolation: conf.TenantIsolation})
	return nil
}

// placementErr maps a scheduler's refusal: RESOURCE_EXHAUSTED when only
// capacity stood in the way, else FAILED_PRECONDITION; either way with a
// PreconditionFailure that names, per host, the filter that rejected it.
func placementErr(cloud string, err error) (error, bool) {
	var r *sched.Refusal
	if !errors.As(err, &r) {
		return nil, false
	}
	code := codes.FailedPrecondition
	if r.Capacity() {
		code = codes.ResourceExhausted
	}
	pf := &errdetails.PreconditionFailure{}
	// The ErrorInfo says it too ("host/<name>": "<filter>: <why>"): an
	// operation's error keeps the ErrorInfo's metadata.
	meta := map[string]string{"cloud": cloud}
	for _, x := range r.Rejections {
		pf.Violations = append(pf.Violations, &errdetails.PreconditionFailure_Violation{Type: x.Filter, Subject: "host/" + x.Host, Description: x.Reason})
		meta["host/"+x.Host] = x.Filter + ": " + x.Reason
	}
	return Detailed(code, fmt.Sprintf("cloud %q: %v", cloud, err),
		&errdetails.ErrorInfo{Reason: "NO_VALID_HOST", Domain: ErrorDomain, Metadata: meta}, pf), true
}
