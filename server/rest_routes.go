package server

import (
	"context"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
)

// restRoutes knows which methods a REST path has, for the Allow header of
// a 405 (grpc-gateway answered 501 and named none). It asks the two
// routers REST has: a twin of the gateway's mux, with the same routes but
// handlers that never run, and canopyd's http.ServeMux for the byte
// routes. It is asked only when a request matched no route.
type restRoutes struct {
	probe *runtime.ServeMux
	mux   *http.ServeMux // set once Serve has built it
}

// probeHit is the status the probe's handlers answer with.
const probeHit = http.StatusNoContent

func newRESTRoutes() *restRoutes {
	rr := &restRoutes{}
	rr.probe = runtime.NewServeMux(
		runtime.WithUnescapingMode(runtime.UnescapingModeAllExceptReserved),
		runtime.WithMiddlewares(func(runtime.HandlerFunc) runtime.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request, _ map[string]string) { w.WriteHeader(probeHit) }
		}),
		runtime.WithRoutingErrorHandler(func(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, _ *http.Request, code int) {
			w.WriteHeader(code)
		}),
		runtime.WithErrorHandler(func(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, _ *http.Request, _ error) {
			w.WriteHeader(http.StatusBadRequest)
		}),
	)
	return rr
}

// gatewayOptions configure the gateway's mux: REST JSON (rest_marshal.go),
// strict input, one error shape, 405 with Allow, and a path split on its
// literal slashes before a single-segment parameter is percent-decoded
// whole — %2F included, so that a name with '/' (an AMI name such as
// ubuntu/images/hvm-ssd/…) fits in one segment (grpc-gateway's legacy
// mode decoded first, making %2F a separator).
func (rr *restRoutes) gatewayOptions() []runtime.ServeMuxOption {
	return []runtime.ServeMuxOption{
		runtime.WithMarshalerOption(runtime.MIMEWildcard, newRESTMarshaler()),
		runtime.WithUnescapingMode(runtime.UnescapingModeAllExceptReserved),
		runtime.WithMiddlewares(checkPathParams),
		runtime.WithErrorHandler(gatewayError),
		runtime.WithRoutingErrorHandler(rr.routingError),
	}
}

// register adds a service's routes to the probe.
func (rr *restRoutes) register(ctx context.Context, reg func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error, conn *grpc.ClientConn) error {
	return reg(ctx, rr.probe, conn)
}

// allowed lists the methods r's path takes.
func (rr *restRoutes) allowed(r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		q := r.Clone(r.Context())
		q.Method, q.Header, q.Body, q.ContentLength = m, http.Header{}, http.NoBody, 0
		if rr.mux != nil {
			if _, pat := rr.mux.Handler(q); pat != "" && pat != "/v1/" {
				out = append(out, m)
				continue
			}
		}
		pw := &probeWriter{h: http.Header{}}
		rr.probe.ServeHTTP(pw, q)
		if pw.code == probeHit {
			out = append(out, m)
		}
	}
	return out
}

// probeWriter keeps the status the probe answered.
type probeWriter struct {
	h    http.Header
	code int
}

func (p *probeWriter) Header() http.Header         { return p.h }
func (p *probeWriter) Write(b []byte) (int, error) { return len(b), nil }
func (p *probeWriter) WriteHeader(code int)        { p.code = code }
