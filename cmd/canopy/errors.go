package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// codeName is the google.rpc.Code name, e.g. INVALID_ARGUMENT.
func codeName(c codes.Code) string {
	if n, ok := code.Code_name[int32(c)]; ok {
		return n
	}
	return c.String()
}

// printError writes `canopy: [what: ]CODE: message` and the details a user
// can act on: BadRequest field violations and PreconditionFailure
// violations.
func (a *app) printError(what string, err error) {
	prefix := "canopy: "
	if what != "" {
		prefix += what + ": "
	}
	st, ok := status.FromError(err)
	if !ok {
		if errors.Is(err, context.DeadlineExceeded) {
			st = status.New(codes.DeadlineExceeded, err.Error())
		} else {
			fmt.Fprintf(a.stderr, "%s%v\n", prefix, err)
			return
		}
	}
	fmt.Fprintf(a.stderr, "%s%s: %s\n", prefix, codeName(st.Code()), st.Message())
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fmt.Fprintf(a.stderr, "  field %s: %s\n", v.GetField(), v.GetDescription())
			}
		case *errdetails.PreconditionFailure:
			for _, v := range d.GetViolations() {
				fmt.Fprintf(a.stderr, "  precondition %s %s: %s\n", v.GetType(), v.GetSubject(), v.GetDescription())
			}
		}
	}
	switch st.Code() {
	case codes.Unavailable:
		if m := st.Message(); strings.Contains(m, "connection refused") || strings.Contains(m, "dial") || strings.Contains(m, "name resolver") {
			fmt.Fprintf(a.stderr, "  is canopyd running at %s? (set --addr or CANOPY_ADDR)\n", a.addr)
		}
	case codes.DeadlineExceeded:
		fmt.Fprintln(a.stderr, "  a longer --timeout (or --wait-timeout) may help")
	}
}
