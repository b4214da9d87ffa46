package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// imageService implements canopyv1.ImageTransferServiceServer: image
// bytes in and out of a cloud. Uploads the cloud still processes are
// tracked by an operation (image_jobs.go).
type imageService struct {
	canopyv1.UnimplementedImageTransferServiceServer
	rt     router.Resolver
	store  store.Store  // the uploaded image's mapping and sharing
	log    *slog.Logger // audit of streamed uploads
	images interface {  // resolves the image a download names
		GetImage(ctx context.Context, req *canopyv1.GetImageRequest) (*canopyv1.Image, error)
	}
	ops interface { // tracks an upload the cloud still processes
		trackImport(ctx context.Context, cl *router.Cloud, im *canopyv1.Image, wait bool) (*canopyv1.Image, error)
	}
	repl *replicator // places images in more clouds (image_replicate.go)
	// render is RenderImage's (image_render.go); renderErr why it cannot
	// run here (its tools are missing).
	render    *renderer
	renderErr error
}

// imageUpload is an image upload's header, whichever way it arrived.
type imageUpload struct {
	spec providers.ImageSpec
	loc  *canopyv1.Location
	size int64 // -1: unknown
	wait bool  // until a cloud that processes the data is done with it
	// who besides the uploader's project may see it
	visibility canopyv1.Visibility
	shared     []string
	// placements are the clouds to replicate it to once uploaded.
	placements []string
}

// putImage streams chunks from next into a new image; any failure aborts
// it, leaving no image.
func (s *imageService) putImage(ctx context.Context, up imageUpload, next func() ([]byte, error), trailer func() string) (*canopyv1.Image, error) {
	if err := router.CheckName("name", up.spec.Name); err != nil {
		return nil, err
	}
	if up.spec.DiskFormat == "" {
		return nil, router.BadRequest("disk_format", "required: raw, qcow2, vmdk, vdi, iso, vhd, vhdx or ami")
	}
	if err := checkSHA256("sha256", up.spec.SHA256); err != nil {
		return nil, err
	}
	if err := router.CheckLabels("labels", up.spec.Labels); err != nil {
		return nil, err
	}
	sh, err := checkSharing("", up.visibility, up.shared, project(ctx)) // images.go
	if err != nil {
		return nil, err
	}
	cl, err := s.rt.RouteCreate(up.loc)
	if err != nil {
		return nil, err
	}
	if len(up.placements) > 0 {
		if err := s.repl.checkTargets("placements", up.placements, up.spec.DiskFormat); err != nil {
			return nil, err
		}
	}
	t, err := cl.TransferOrFail()
	if err != nil {
		return nil, err
	}
	if err := t.Gate(ctx); err != nil {
		return nil, router.CloudErr(cl.Name, "create image", err)
	}
	// The image is the uploader's project's from the start: its id and
	// sharing are recorded before the bytes go, bound to the native id at
	// commit (a list that adopted the new image in between is taken over).
	m, _, err := s.store.Reserve(ctx, store.Mapping{Cloud: cl.Name, Kind: providers.KindImage, Project: project(ctx)})
	if err != nil {
		return nil, router.StoreErr("reserve image id", err)
	}
	reserved, bound := m.ID, false
	defer func() {
		if !bound {
			_ = router.DropSharing(context.WithoutCancel(ctx), s.store, reserved)
			_ = s.store.Delete(context.WithoutCancel(ctx), reserved)
		}
	}()
	if err := router.SaveSharing(ctx, s.store, m.ID, sh); err != nil {
		return nil, err
	}
	up.spec.Size = up.size
	// The cloud keeps a copy of who owns the image where it can (an AWS
	// container image's S3 record); the store above stays the authority.
	up.spec.Project = project(ctx)
	up.spec.Visibility = strings.ToLower(strings.TrimPrefix(sh.Visibility.String(), "VISIBILITY_"))
	w, err := t.NewImageWriter(ctx, up.spec)
	if err != nil {
		return nil, router.CloudErr(cl.Name, "create image "+up.spec.Name, err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = w.Abort()
		}
	}()
	h := sha256.New()
	var n int64
	for {
		chunk, err := next()
		if len(chunk) > 0 {
			n += int64(len(chunk))
			if up.size >= 0 && n > up.size {
				return nil, router.BadRequest("size_bytes", "the stream holds more than the %d bytes announced", up.size)
			}
			h.Write(chunk)
			if _, werr := w.Write(chunk); werr != nil {
				return nil, router.CloudErr(cl.Name, "upload image "+up.spec.Name, werr)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if up.size >= 0 && n != up.size {
		return nil, router.BadRequest("size_bytes", "the stream ended after %d of the %d bytes announced: no image was made", n, up.size)
	}
	got := hex.EncodeToString(h.Sum(nil))
	for _, want := range []string{up.spec.SHA256, trailerOf(trailer)} {
		if want != "" && !strings.EqualFold(want, got) {
			return nil, status.Errorf(codes.DataLoss, "sha256 of the %d bytes received is %s, the client said %s: no image was made", n, got, want)
		}
	}
	if err := t.Gate(ctx); err != nil {
		return nil, router.CloudErr(cl.Name, "commit image", err)
	}
	im, err := w.Commit()
	committed = true
	if err != nil {
		return nil, router.CloudErr(cl.Name, "commit image "+up.spec.Name, err)
	}
	bm, err := s.store.Bind(context.WithoutCancel(ctx), m.ID, im.NativeID)
	switch {
	case errors.Is(err, store.ErrConflict):
		// A content-addressed cloud (Docker, containerd) gives the same
		// bytes the same id: the image is canopy's already. The caller's
		// own upload of them is that image; another project's is not
		// this caller's to see, nor to delete.
		prior, lerr := s.store.Lookup(ctx, cl.Name, providers.KindImage, im.NativeID)
		if lerr != nil || prior.Project != project(ctx) {
			return nil, status.Errorf(codes.AlreadyExists, "cloud %q already holds an image with these bytes that is not your project's: no image was made", cl.Name)
		}
		if sh, _, err = router.LoadSharing(ctx, s.store, prior); err != nil {
			return nil, err
		}
		bm = prior
	case err != nil:
		// Unrecorded, the image would turn up as the cloud's own (public).
		if cl.Compute != nil {
			_ = cl.Compute.DeleteImage(context.WithoutCancel(ctx), im.NativeID)
		}
		return nil, router.StoreErr("bind image "+im.NativeID, err)
	default:
		bound = true
	}
	m = bm
	out := withSharing(imagePB(cl.Name, m.ID, im), m, sh)
	if out.Properties == nil {
		out.Properties = map[string]string{}
	}
	out.Properties["sha256"] = got
	if cl.Compute != nil {
		cl.Compute.InvalidateImages() // lists show the new image at once
	}
	if im.Status.Transitional() {
		if out, err = s.ops.trackImport(ctx, cl, out, up.wait || len(up.placements) > 0); err != nil { // image_jobs.go
			return nil, err
		}
	}
	if len(up.placements) > 0 {
		return s.placeUploaded(ctx, out, up)
	}
	return out, nil
}

// placeUploaded starts replicating a new image to the clouds its upload
// named; the image's operation is then that replication.
func (s *imageService) placeUploaded(ctx context.Context, im *canopyv1.Image, up imageUpload) (*canopyv1.Image, error) {
	op, err := s.repl.Replicate(ctx, &canopyv1.ReplicateImageRequest{Image: im.Id, Clouds: up.placements, Wait: up.wait}, s.images)
	if err != nil {
		return nil, status.Errorf(status.Code(err), "image %s uploaded, but replicating it: %s", im.Id, status.Convert(err).Message())
	}
	im.Operation = op.Id
	if e := op.GetError(); e != nil {
		return nil, status.Errorf(codes.Code(e.Code), "image %s uploaded, then replicating it: %s (operation %s)", im.Id, e.Message, op.Id)
	}
	if op.Done {
		im.Placements = map[string]string{}
		var res canopyv1.ListImagePlacementsResponse
		if err := op.GetResponse().UnmarshalTo(&res); err == nil {
			for _, p := range res.Placements {
				im.Placements[p.Cloud] = p.ImageId
			}
		}
	}
	return im, nil
}

// UploadImage implements canopyv1.ImageTransferServiceServer.
func (s *imageService) UploadImage(stream canopyv1.ImageTransferService_UploadImageServer) error {
	ctx := stream.Context()
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	hdr := first.GetHeader()
	if hdr == nil {
		return router.BadRequest("header", "the first message must carry the header")
	}
	up := imageUpload{loc: hdr.GetLocation(), size: -1, wait: hdr.GetWait(), visibility: hdr.GetVisibility(), shared: hdr.GetSharedProjects(), placements: hdr.GetPlacements(), spec: providers.ImageSpec{
		Name: hdr.GetName(), DiskFormat: hdr.GetDiskFormat(), ContainerFormat: hdr.GetContainerFormat(),
		MinDiskGiB: hdr.GetMinDiskGib(), MinRAMMiB: hdr.GetMinRamMib(), Labels: hdr.GetLabels(), SHA256: strings.ToLower(hdr.GetSha256()),
	}}
	if hdr.SizeBytes != nil {
		if up.size = hdr.GetSizeBytes(); up.size < 0 {
			return router.BadRequest("header.size_bytes", "must not be negative")
		}
	}
	trailer := first.GetSha256()
	next := func() ([]byte, error) {
		msg, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, status.Errorf(status.Code(err), "upload broke off: %v: no image was made", err)
		}
		if msg.GetHeader() != nil {
			return nil, router.BadRequest("header", "only the first message carries a header")
		}
		if v := msg.GetSha256(); v != "" {
			trailer = v
		}
		return msg.GetChunk(), nil
	}
	im, err := s.putImage(ctx, up, next, func() string { return trailer })
	audit(ctx, s.log, "/canopy.v1.ImageTransferService/UploadImage", nil, im, err)
	if err != nil {
		return err
	}
	return stream.SendAndClose(im)
}

// openImage resolves an image and opens its bytes.
func (s *imageService) openImage(ctx context.Context, id string) (*canopyv1.Image, io.ReadCloser, error) {
	im, err := s.images.GetImage(ctx, &canopyv1.GetImageRequest{Id: id})
	if err != nil {
		return nil, nil, err
	}
	cl, _ := s.rt.Cloud(im.GetLocation().GetCloud())
	if cl == nil {
		return nil, nil, router.NotFound(providers.KindImage, id)
	}
	t, err := cl.TransferOrFail()
	if err != nil {
		return nil, nil, err
	}
	if err := t.Gate(ctx); err != nil {
		return nil, nil, router.CloudErr(cl.Name, "download image", err)
	}
	r, _, err := t.NewImageReader(ctx, im.NativeId)
	if err != nil {
		return nil, nil, router.CloudErr(cl.Name, "download image "+im.NativeId, err)
	}
	return im, r, nil
}

// DownloadImage implements canopyv1.ImageTransferServiceServer.
func (s *imageService) DownloadImage(req *canopyv1.DownloadImageRequest, stream canopyv1.ImageTransferService_DownloadImageServer) error {
	ctx := stream.Context()
	im, r, err := s.openImage(ctx, req.GetId())
	if err != nil {
		return err
	}
	defer r.Close()
	if err := stream.Send(&canopyv1.DownloadImageResponse{Data: &canopyv1.DownloadImageResponse_Image{Image: im}}); err != nil {
		return err
	}
	h := sha256.New()
	buf := make([]byte, chunkSize)
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			h.Write(buf[:n])
			if serr := stream.Send(&canopyv1.DownloadImageResponse{Data: &canopyv1.DownloadImageResponse_Chunk{Chunk: buf[:n]}}); serr != nil {
				return serr
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return router.CloudErr(im.GetLocation().GetCloud(), "download image "+im.NativeId, err)
		}
	}
	sum := hex.EncodeToString(h.Sum(nil))
	props := im.GetProperties()
	want := props["canopy_sha256"]
	if props["os_hash_algo"] == "sha256" {
		want = props["os_hash_value"]
	}
	if want != "" && !strings.EqualFold(want, sum) {
		return status.Errorf(codes.DataLoss, "image %s: sha256 of the bytes read is %s, recorded at upload %s", im.Id, sum, want)
	}
	return stream.Send(&canopyv1.DownloadImageResponse{Data: &canopyv1.DownloadImageResponse_Sha256{Sha256: sum}})
}
