package server

import (
	"github.com/canopy-cloud/canopy/emulate"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
)

// serverKind says what runs behind a server: a container cloud's servers
// view (emulate.ContainerServers) marks its servers with properties.kind;
// everything else a Compute adapter lists is a virtual machine.
func serverKind(s providers.Server) canopyv1.ServerKind {
	if s.Properties[emulate.PropKind] == emulate.KindContainerServer {
		return canopyv1.ServerKind_SERVER_KIND_CONTAINER
	}
	return canopyv1.ServerKind_SERVER_KIND_VM
}

// cloudServerKind is the kind of the servers a cloud makes, for a server
// the cloud has not reported yet (a pending create): a cloud whose Compute
// is its containers' servers view makes containers.
func cloudServerKind(cl *router.Cloud) canopyv1.ServerKind {
	if _, vm := cl.Provider.(providers.Compute); !vm && cl.Containers != nil {
		return canopyv1.ServerKind_SERVER_KIND_CONTAINER
	}
	return canopyv1.ServerKind_SERVER_KIND_VM
}

// checkServerKind refuses a kind filter the API does not define (a newer
// client's value, or a typo in REST's number form) rather than listing
// nothing.
func checkServerKind(field string, k canopyv1.ServerKind) error {
	if _, ok := canopyv1.ServerKind_name[int32(k)]; !ok {
		return router.BadRequest(field, "unknown server kind %d (want SERVER_KIND_VM or SERVER_KIND_CONTAINER, or unset for every kind)", int32(k))
	}
	return nil
}
