package auth

import "strings"

// MethodScope says what a gRPC method (its full name,
// "/canopy.v1.ComputeService/GetServer") needs: the one rule the server
// enforces and the OpenAPI document publishes. Health and reflection are
// public (load balancers and grpcurl need them; they reveal only the API
// schema, which /openapi.json publishes anyway). AuthService is admin.
// Reads are the methods named Get/List/Find/Watch/Wait/Download; everything
// else writes, so a new mutating RPC is protected by default.
func MethodScope(fullMethod string) (scope string, public bool) {
	if strings.HasPrefix(fullMethod, "/grpc.health.v1.") || strings.HasPrefix(fullMethod, "/grpc.reflection.") {
		return "", true
	}
	svc, method, _ := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	if svc == "canopy.v1.AuthService" {
		return ScopeAdmin, false
	}
	// Downloading (and presigning a download) reads; it changes nothing.
	if method == "CreateDownloadURL" {
		return ScopeRead, false
	}
	// A container's output, processes and resource use are reads too.
	switch method {
	case "ContainerLogs", "TopContainer", "StreamContainerStats":
		return ScopeRead, false
	}
	for _, p := range []string{"Get", "List", "Find", "Watch", "Wait", "Download"} {
		if strings.HasPrefix(method, p) {
			return ScopeRead, false
		}
	}
	return ScopeWrite, false
}
