package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/canopy-cloud/canopy/router"
)

// One error shape on every REST route: the gateway's JSON routes and
// canopyd's own byte routes both answer with a google.rpc.Status in JSON
// with proto (snake_case) field names — "field_violations",
// "resource_type" — and the HTTP status of its gRPC code, as grpc-gateway
// maps codes (DATA_LOSS is 500, the code in the body says which 500).

// writeRESTError writes err in that shape. An *runtime.HTTPStatusError
// keeps its own HTTP status (413 for a body over the limit, 405 for a
// method a path lacks).
func writeRESTError(w http.ResponseWriter, err error) {
	httpStatus := 0
	var hs *runtime.HTTPStatusError
	if errors.As(err, &hs) {
		httpStatus, err = hs.HTTPStatus, hs.Err
	}
	st := status.Convert(err)
	if httpStatus == 0 {
		httpStatus = runtime.HTTPStatusFromCode(st.Code())
	}
	opts := protojson.MarshalOptions{UseProtoNames: true}
	body, merr := opts.Marshal(st.Proto())
	if merr != nil {
		// Text that is not UTF-8 (a client's bytes quoted carelessly)
		// cannot be JSON: say the same with the bad bytes replaced.
		p := st.Proto()
		p.Message = strings.ToValidUTF8(p.Message, "\uFFFD")
		p.Details = nil
		body, _ = opts.Marshal(p)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if st.Code() == codes.Unauthenticated {
		h.Set("WWW-Authenticate", `Bearer realm="canopy"`)
	}
	w.WriteHeader(httpStatus)
	_, _ = w.Write(body)
}

// violation is one google.rpc.BadRequest field violation.
type violation struct{ field, desc string }

// badRequest is INVALID_ARGUMENT with every violation as a field violation
// (a REST request can be wrong in several places at once).
func badRequest(vs []violation) error {
	if len(vs) == 1 {
		return router.BadRequest(vs[0].field, "%s", vs[0].desc)
	}
	br := &errdetails.BadRequest{}
	msgs := make([]string, len(vs))
	for i, v := range vs {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.field, Description: v.desc})
		msgs[i] = v.field + ": " + v.desc
	}
	return router.Detailed(codes.InvalidArgument, strings.Join(msgs, "; "), br)
}

// gatewayError is the gateway's error handler. The generated handlers turn
// what goes wrong before the RPC (a body or a query that does not decode)
// into a bare INVALID_ARGUMENT message; this puts back the detail: the
// decoder's own error, left with the request's body (rest_body.go), or the
// query parameters checked again against the RPC's request message.
func gatewayError(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	writeRESTError(w, explainGatewayError(ctx, r, err))
}

func explainGatewayError(ctx context.Context, r *http.Request, err error) error {
	if rb, ok := r.Body.(*restBody); ok && rb.failure != nil {
		return rb.failure
	}
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument || len(st.Details()) > 0 {
		return err
	}
	method, ok := runtime.RPCMethod(ctx)
	if !ok {
		return err
	}
	if md := rpcInput(method); md != nil {
		if _, qerr := queryValues(md, r.URL.Query()); qerr != nil {
			return qerr
		}
	}
	return err
}

// rpcInput is the request message of a full RPC method name
// ("/canopy.v1.ComputeService/ListServers"), from the registry the
// generated code fills.
func rpcInput(method string) protoreflect.MessageDescriptor {
	svc, name := path.Split(strings.TrimPrefix(method, "/"))
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(strings.TrimSuffix(svc, "/")))
	if err != nil {
		return nil
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil
	}
	if m := sd.Methods().ByName(protoreflect.Name(name)); m != nil {
		return m.Input()
	}
	return nil
}

// routingError answers a request no gateway route takes: 405 with Allow
// when the path exists with other methods (on the gateway or among the
// byte routes), 404 when it does not exist at all.
func (rr *restRoutes) routingError(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	switch httpStatus {
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		if allow := rr.allowed(r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeRESTError(w, &runtime.HTTPStatusError{HTTPStatus: http.StatusMethodNotAllowed,
				Err: status.Errorf(codes.Unimplemented, "%s is not a method of %q: it takes %s", r.Method, r.URL.EscapedPath(), strings.Join(allow, ", "))})
			return
		}
		writeRESTError(w, status.Errorf(codes.NotFound, "no REST route %s %q (see /openapi.json)", r.Method, r.URL.EscapedPath()))
	default:
		writeRESTError(w, &runtime.HTTPStatusError{HTTPStatus: httpStatus, Err: status.Error(codes.InvalidArgument, http.StatusText(httpStatus))})
	}
}

// sortedKeys returns a map's keys in order, for deterministic messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// quoteField names a client-supplied key safely: as is when it is
// printable UTF-8, else quoted with Go escapes (a field violation must be
// valid UTF-8 to be sent at all).
func quoteField(k string) string {
	q := fmt.Sprintf("%q", k)
	if q[1:len(q)-1] == k {
		return k
	}
	return q
}
