package server

import (
	"context"
	"errors"

	"github.com/canopy-cloud/canopy/auth"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

func clientPB(c store.Client) *canopyv1.Client {
	return &canopyv1.Client{Id: c.ID, Name: c.Name, Project: c.Project, Scopes: c.Scopes, CreateTime: ts(c.Created), SecretUpdateTime: ts(c.SecretUpdated)}
}

func clientErr(id string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return router.NotFound("client", id)
	}
	return router.StoreErr("client "+id, err)
}

// CreateClient implements canopyv1.AuthServiceServer.
func (s *authService) CreateClient(ctx context.Context, req *canopyv1.CreateClientRequest) (*canopyv1.CreateClientResponse, error) {
	if err := router.CheckName("name", req.GetName()); err != nil {
		return nil, err
	}
	if !auth.ValidProject(req.GetProject()) {
		return nil, router.BadRequest("project", "want 1-63 lower-case letters, digits, '_', '.', '-'")
	}
	if len(req.GetScopes()) == 0 {
		return nil, router.BadRequest("scopes", "at least one of %v", auth.AllScopes)
	}
	if bad := auth.ValidScopes(req.GetScopes()); bad != "" {
		return nil, router.BadRequest("scopes", "unknown scope %q (want %v)", bad, auth.AllScopes)
	}
	c, secret, err := s.clients.Create(ctx, req.GetName(), req.GetProject(), req.GetScopes())
	if err != nil {
		return nil, router.StoreErr("create client", err)
	}
	return &canopyv1.CreateClientResponse{Client: clientPB(c), ClientSecret: secret}, nil
}

// GetClient implements canopyv1.AuthServiceServer.
func (s *authService) GetClient(ctx context.Context, req *canopyv1.GetClientRequest) (*canopyv1.Client, error) {
	if req.GetId() == "" {
		return nil, router.BadRequest("id", "required")
	}
	c, err := s.clients.Store().GetClient(ctx, req.GetId())
	if err != nil {
		return nil, clientErr(req.GetId(), err)
	}
	return clientPB(c), nil
}

// ListClients implements canopyv1.AuthServiceServer.
func (s *authService) ListClients(ctx context.Context, req *canopyv1.ListClientsRequest) (*canopyv1.ListClientsResponse, error) {
	size, err := router.PageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	cs, err := s.clients.Store().ListClients(ctx)
	if err != nil {
		return nil, router.StoreErr("list clients", err)
	}
	out := make([]*canopyv1.Client, len(cs))
	for i, c := range cs {
		out[i] = clientPB(c)
	}
	page, next, err := router.Paginate(out, func(c *canopyv1.Client) string { return c.Id }, size, req.GetPageToken(), router.FilterHash("clients"))
	if err != nil {
		return nil, err
	}
	return &canopyv1.ListClientsResponse{Clients: page, NextPageToken: next}, nil
}

// RotateClientSecret implements canopyv1.AuthServiceServer.
func (s *authService) RotateClientSecret(ctx context.Context, req *canopyv1.RotateClientSecretRequest) (*canopyv1.RotateClientSecretResponse, error) {
	if req.GetId() == "" {
		return nil, router.BadRequest("id", "required")
	}
	c, secret, err := s.clients.Rotate(ctx, req.GetId())
	if err != nil {
		return nil, clientErr(req.GetId(), err)
	}
	return &canopyv1.RotateClientSecretResponse{Client: clientPB(c), ClientSecret: secret}, nil
}

// DeleteClient implements canopyv1.AuthServiceServer.
func (s *authService) DeleteClient(ctx context.Context, req *canopyv1.DeleteClientRequest) (*canopyv1.DeleteClientResponse, error) {
	if req.GetId() == "" {
		return nil, router.BadRequest("id", "required")
	}
	if err := s.clients.Store().DeleteClient(ctx, req.GetId()); err != nil {
		return nil, clientErr(req.GetId(), err)
	}
	return &canopyv1.DeleteClientResponse{Id: req.GetId()}, nil
}

// RotateSigningKey implements canopyv1.AuthServiceServer.
func (s *authService) RotateSigningKey(ctx context.Context, _ *canopyv1.RotateSigningKeyRequest) (*canopyv1.RotateSigningKeyResponse, error) {
	kid, published, err := s.issuer.RotateKey(ctx)
	if err != nil {
		return nil, router.StoreErr("rotate signing key", err)
	}
	return &canopyv1.RotateSigningKeyResponse{KeyId: kid, PublishedKeyIds: published}, nil
}
