package router

import (
	"context"
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	"github.com/canopy-cloud/canopy/auth"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// ListScope applies a list request's location.project: empty or the
// caller's own project changes nothing; another project is an admin's
// alone, who then lists as that project (the returned context carries
// it); anyone else gets PERMISSION_DENIED naming the field. Lists then
// keep only that project's resources (and those no project owns, such as
// flavors): see ListWith.
func ListScope(ctx context.Context, loc *canopyv1.Location) (context.Context, error) {
	want := loc.GetProject()
	p, _ := auth.FromContext(ctx)
	if want == "" || want == p.Project {
		return ctx, nil
	}
	if !p.Has(auth.ScopeAdmin) {
		desc := fmt.Sprintf("the token is for project %q; only an admin may list project %q", p.Project, want)
		return nil, Detailed(codes.PermissionDenied, "location.project: "+desc,
			&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "location.project", Description: desc}}})
	}
	p.Project = want
	return auth.NewContext(ctx, p), nil
}
