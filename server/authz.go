package server

import (
	"context"
	"log/slog"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/auth"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/router"
)

// requiredScope says what a method needs (auth.MethodScope: the rule
// /openapi.json publishes too).
func requiredScope(fullMethod string) (scope string, public bool) {
	return auth.MethodScope(fullMethod)
}

// authenticate checks the bearer token of a call and puts its principal in
// the context. Messages never echo the token or why it failed (that is
// logged at debug level for the operator).
func (s *Server) authenticate(ctx context.Context, fullMethod string) (context.Context, error) {
	scope, public := requiredScope(fullMethod)
	if public {
		return ctx, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	var raw string
	for _, v := range md.Get("authorization") {
		if scheme, tok, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "bearer") {
			raw = strings.TrimSpace(tok)
		}
	}
	if raw == "" {
		return nil, status.Error(codes.Unauthenticated, "missing bearer token: get one from /oauth2/token with your client credentials")
	}
	p, err := s.verifier.Verify(ctx, raw)
	if err != nil {
		s.log.Debug("token rejected", "method", fullMethod, "reason", err)
		return nil, status.Error(codes.Unauthenticated, "invalid bearer token (expired, wrong audience or issuer, or bad signature)")
	}
	if !p.Has(scope) {
		return nil, status.Errorf(codes.PermissionDenied, "%s needs scope %s; the token has %q", fullMethod, scope, strings.Join(p.Scopes, " "))
	}
	return auth.NewContext(ctx, p), nil
}

func (s *Server) authUnary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := s.authenticate(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		if ctx, err = listScope(ctx, info.FullMethod, req); err != nil {
			return nil, err
		}
		resp, err := handler(ctx, req)
		audit(ctx, s.log, info.FullMethod, req, resp, err)
		return resp, err
	}
}

// listScope applies a List request's location.project (router.ListScope)
// before the handler runs, so every list honours it the same way, or
// refuses it.
func listScope(ctx context.Context, fullMethod string, req any) (context.Context, error) {
	_, method, _ := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	r, ok := req.(interface{ GetLocation() *canopyv1.Location })
	if !ok || !strings.HasPrefix(method, "List") {
		return ctx, nil
	}
	return router.ListScope(ctx, r.GetLocation())
}

type authedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (a authedStream) Context() context.Context { return a.ctx }

func (s *Server) authStream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := s.authenticate(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, authedStream{ss, ctx})
	}
}

type hasID interface{ GetId() string }

// audit writes one structured line per mutating call: who, project, RPC,
// resource id, outcome.
func audit(ctx context.Context, log *slog.Logger, method string, req, resp any, err error) {
	if scope, _ := requiredScope(method); scope == auth.ScopeRead {
		return
	}
	p, _ := auth.FromContext(ctx)
	id := ""
	if r, ok := resp.(hasID); ok && err == nil {
		id = r.GetId()
	} else if r, ok := req.(hasID); ok {
		id = r.GetId()
	}
	log.LogAttrs(ctx, slog.LevelInfo, "audit",
		slog.String("who", p.Subject), slog.String("issuer", p.Issuer), slog.String("project", p.Project),
		slog.String("rpc", method), slog.String("resource", id), slog.String("outcome", status.Code(err).String()))
}

// project is the caller's project, from its token.
func project(ctx context.Context) string {
	p, _ := auth.FromContext(ctx)
	return p.Project
}
