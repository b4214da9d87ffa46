package server

import (
	"github.com/canopy-cloud/canopy/auth"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/router"
)

// cloudService implements canopyv1.CloudServiceServer (cloud_service.go):
// the configured clouds, their health and capabilities.
type cloudService struct {
	canopyv1.UnimplementedCloudServiceServer
	rt interface {
		Clouds() []*router.Cloud
		Cloud(name string) (*router.Cloud, bool)
	}
}

// authService implements canopyv1.AuthServiceServer (auth_service.go): the
// built-in authorization server's clients and signing keys.
type authService struct {
	canopyv1.UnimplementedAuthServiceServer
	issuer  *auth.Issuer
	clients *auth.Clients
}
