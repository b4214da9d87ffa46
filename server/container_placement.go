package server

import (
	"regexp"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/sched"
)

// runtimeName is what an engine calls an OCI runtime (runc, crun,
// io.containerd.kata.v2).
var runtimeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// placementOf validates a create's placement wishes into spec: the
// runtime, and the host labels the scheduler matches.
func placementOf(req *canopyv1.CreateContainerRequest, spec *providers.ContainerSpec) error {
	if r := req.GetRuntime(); r != "" && !runtimeName.MatchString(r) {
		return router.BadRequest("runtime", "%q is not a runtime name (e.g. runc)", r)
	}
	if err := router.CheckLabels("host_labels", req.GetHostLabels()); err != nil {
		return err
	}
	spec.Runtime, spec.HostLabels = req.GetRuntime(), req.GetHostLabels()
	return nil
}

// checkPlaced refuses host labels on a cloud that places nothing: they
// would be quietly ignored.
func checkPlaced(cl *router.Cloud, spec providers.ContainerSpec) error {
	if len(spec.HostLabels) == 0 {
		return nil
	}
	if _, ok := cl.Containers.Containers.(*sched.Placer); ok {
		return nil
	}
	return router.CapabilityErr(cl.Name, "scheduling on host labels (host_labels; give the cloud a scheduler: block in the config, or several hosts)")
}
