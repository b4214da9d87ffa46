package server

import (
	"context"
	"sync"
	"time"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/router"
)

// healthTTL is how long a health check result is reused by ListClouds.
const healthTTL = 10 * time.Second

// ListClouds implements canopyv1.CloudServiceServer.
func (s *cloudService) ListClouds(ctx context.Context, req *canopyv1.ListCloudsRequest) (*canopyv1.ListCloudsResponse, error) {
	size, err := router.PageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	// Refresh stale health concurrently, so a slow cloud costs one timeout.
	var wg sync.WaitGroup
	for _, cl := range s.rt.Clouds() {
		if _, _, at := cl.Health(); time.Since(at) > healthTTL {
			wg.Add(1)
			go func() { defer wg.Done(); cl.CheckHealth(ctx) }()
		}
	}
	wg.Wait()
	clouds := make([]*canopyv1.Cloud, 0, len(s.rt.Clouds()))
	for _, cl := range s.rt.Clouds() {
		clouds = append(clouds, cloudPB(cl))
	}
	page, next, err := router.Paginate(clouds, func(c *canopyv1.Cloud) string { return c.Name }, size, req.GetPageToken(), router.FilterHash("clouds"))
	if err != nil {
		return nil, err
	}
	return &canopyv1.ListCloudsResponse{Clouds: page, NextPageToken: next}, nil
}

// GetCloud implements canopyv1.CloudServiceServer.
func (s *cloudService) GetCloud(ctx context.Context, req *canopyv1.GetCloudRequest) (*canopyv1.Cloud, error) {
	if req.GetName() == "" {
		return nil, router.BadRequest("name", "required")
	}
	cl, ok := s.rt.Cloud(req.GetName())
	if !ok {
		return nil, router.NotFound("cloud", req.GetName())
	}
	cl.CheckHealth(ctx)
	return cloudPB(cl), nil
}

func cloudPB(cl *router.Cloud) *canopyv1.Cloud {
	ok, msg, at := cl.Health()
	h := canopyv1.Cloud_HEALTH_UNAVAILABLE
	if ok {
		h = canopyv1.Cloud_HEALTH_OK
	}
	return &canopyv1.Cloud{
		Name: cl.Name, Kind: cl.Kind, Regions: cl.Regions, Zones: cl.Zones,
		Capabilities: cl.Capabilities(), Health: h, HealthMessage: msg, HealthCheckTime: ts(at),
	}
}
