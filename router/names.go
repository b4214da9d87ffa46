package router

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/store"
)

// Some names are one namespace for a whole cloud account, whichever
// canopy project asks: S3 bucket names (global across AWS, even), Nova
// and EC2 keypair names. A create whose name is taken must not reveal
// whose resource holds it, nor its id: another project's is "name
// unavailable", nothing more.

// NameUnavailable is the ALREADY_EXISTS of a name taken where canopy may
// not say by what.
func NameUnavailable(kind, field, name string) error {
	desc := fmt.Sprintf("%s name %q is unavailable: choose another", kind, name)
	return Detailed(codes.AlreadyExists, field+": "+desc,
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: desc}}})
}

// CheckNameFree looks a create's name up among the resources of the
// cloud's account-wide namespace canopy knows (their native id is the
// name): the caller's own is ALREADY_EXISTS naming its id, another
// project's NameUnavailable.
func CheckNameFree(ctx context.Context, ids store.IDMap, cl *Cloud, kind, field, name string) error {
	m, err := ids.Lookup(ctx, cl.Name, kind, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return StoreErr("lookup "+kind+" "+name, err)
	}
	if m.Project != Project(ctx) {
		return NameUnavailable(kind, field, name)
	}
	return Detailed(codes.AlreadyExists, fmt.Sprintf("%s %q already exists in cloud %q: %s", kind, name, cl.Name, m.ID),
		&errdetails.ResourceInfo{ResourceType: kind, ResourceName: m.ID, Description: "already exists"})
}

// NameTakenErr maps a create's error: the cloud's "already exists" for a
// name canopy does not know as the caller's is NameUnavailable, without
// the cloud's words (which may name the owner); anything else is CloudErr.
func NameTakenErr(cl *Cloud, kind, field, name, op string, err error) error {
	if errors.Is(err, providers.ErrAlreadyExists) {
		return NameUnavailable(kind, field, name)
	}
	return CloudErr(cl.Name, op, err)
}
