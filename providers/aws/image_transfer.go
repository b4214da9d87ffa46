package aws

// Image bytes in and out of EC2 without ImportImage (which needs S3, a
// service role and a VM import job; moto has none of it): a raw disk is
// written into an EBS snapshot through the EBS direct API
// (WriteSnapshotData: StartSnapshot, PutSnapshotBlock, CompleteSnapshot)
// and registered as an AMI whose root device is that snapshot
// (RegisterImage). Reading an AMI reads its root snapshot's blocks back.
// EBS holds raw blocks only: any other disk format is ErrInvalid here,
// and canopy's replication (package replicate) converts to raw first.
//
// The AMI carries tags canopy reads back: canopy_sha256 (of the bytes),
// canopy_size (their exact length: a snapshot is whole GiB) and
// canopy_disk_format, so the image lists as raw with its true size.
//
// A container image (container format docker or oci) is no AMI: it goes
// to S3 instead (container_images.go).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/providers"
)

// Tags of the AMIs canopy registers from bytes.
const (
	tagSHA256 = "canopy_sha256"
	tagSize   = "canopy_size"
	tagFormat = "canopy_disk_format"
	tagMinRAM = "canopy_min_ram_mib"
	tagMinGiB = "canopy_min_disk_gib"
	// tagSnapshot names the snapshot holding the bytes: the AMI's root
	// device maps it on AWS; moto's RegisterImage ignores the mappings
	// it is given (it makes a snapshot of its own), so readers and
	// DeleteImage go by the tag.
	tagSnapshot = "canopy_snapshot"
)

// unknownSizeGiB is the snapshot of an upload whose size is not told:
// more bytes than that are ErrInvalid.
const unknownSizeGiB = 8

// registerAPI is the part of the EC2 client registering an AMI needs.
type registerAPI interface {
	RegisterImage(context.Context, *ec2.RegisterImageInput, ...func(*ec2.Options)) (*ec2.RegisterImageOutput, error)
	CreateTags(context.Context, *ec2.CreateTagsInput, ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error)
}

var _ providers.ImageTransfer = (*Cloud)(nil)

// amiName makes an image name an AMI name: AMI names are unique per
// account and take letters, digits and ()[] ./-'@_ only, so a suffix
// tells two uploads of one name apart (the Name tag keeps the name).
var amiUnsafe = regexp.MustCompile(`[^a-zA-Z0-9()\[\] ./'@_-]`)

func amiName(name string) string {
	n := amiUnsafe.ReplaceAllString(name, "-")
	if len(n) > 100 {
		n = n[:100]
	}
	return fmt.Sprintf("%s.%x", n, time.Now().UnixNano())
}

// NewImageWriter implements providers.ImageTransfer: raw bytes of a known
// size into an EBS snapshot, registered as an AMI at Commit.
func (c *Cloud) NewImageWriter(ctx context.Context, spec providers.ImageSpec) (providers.ImageWriter, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if spec.Name == "" {
		return nil, fmt.Errorf("aws: image name: %w: empty", providers.ErrInvalid)
	}
	if spec.ContainerFormat == "docker" || spec.ContainerFormat == "oci" {
		return c.newContainerImageWriter(ctx, spec) // container_images.go: an S3 object
	}
	if spec.DiskFormat != "raw" {
		return nil, fmt.Errorf("aws: disk format %q: %w: an AMI is registered from an EBS snapshot, which holds a raw disk (convert it first)", spec.DiskFormat, providers.ErrInvalid)
	}
	if spec.ContainerFormat != "" && spec.ContainerFormat != "bare" {
		return nil, fmt.Errorf("aws: container format %q: %w: bare (an AMI), or docker or oci (a container image in S3)", spec.ContainerFormat, providers.ErrInvalid)
	}
	sizeGiB := (spec.Size + 1<<30 - 1) >> 30
	if spec.Size < 0 {
		// An EBS snapshot's size is fixed when it starts: an upload of
		// unknown size gets the usual root disk's, or its minimum.
		sizeGiB = max(unknownSizeGiB, spec.MinDiskGiB)
	}
	sizeGiB = max(sizeGiB, 1)
	region := c.regions[0]
	if _, ok := c.clients[region].(registerAPI); !ok {
		return nil, fmt.Errorf("aws: upload image: the EC2 client cannot register images: %w", providers.ErrUnsupported)
	}
	if _, err := c.directClient(region); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &amiWriter{c: c, ctx: ctx, cancel: cancel, spec: spec, region: region, sizeGiB: sizeGiB}
	w.up = providers.StartPipeUpload(func(r io.Reader) (err error) {
		w.snap, err = c.WriteSnapshotData(ctx, SnapshotDataSpec{Region: region, SizeGiB: w.sizeGiB, Description: "canopy: image " + spec.Name}, r)
		return err
	})
	return w, nil
}

type amiWriter struct {
	c        *Cloud
	ctx      context.Context
	cancel   context.CancelFunc
	spec     providers.ImageSpec
	region   string
	sizeGiB  int64
	up       *providers.PipeUpload // into WriteSnapshotData
	snap     string                // set by the upload when it succeeds
	n        int64
	finished bool
}

func (w *amiWriter) Write(p []byte) (int, error) {
	if w.finished {
		return 0, errors.New("aws: write after commit or abort")
	}
	if w.n += int64(len(p)); w.spec.Size >= 0 && w.n > w.spec.Size {
		return 0, fmt.Errorf("aws: image %s: %w: more than the %d bytes announced", w.spec.Name, providers.ErrInvalid, w.spec.Size)
	}
	return w.up.Write(p)
}

func (w *amiWriter) Commit() (providers.Image, error) {
	if w.finished {
		return providers.Image{}, errors.New("aws: commit after commit or abort")
	}
	w.finished = true
	defer w.cancel()
	if err := w.up.Finish(); err != nil {
		return providers.Image{}, err
	}
	if w.spec.Size >= 0 && w.n != w.spec.Size {
		w.dropSnapshot()
		return providers.Image{}, fmt.Errorf("aws: image %s: %w: %d bytes of the %d announced", w.spec.Name, providers.ErrInvalid, w.n, w.spec.Size)
	}
	ctx := context.WithoutCancel(w.ctx)
	if err := w.c.snapshotCompleted(ctx, w.snap); err != nil {
		w.dropSnapshot()
		return providers.Image{}, err
	}
	api := w.c.clients[w.region].(registerAPI)
	out, err := api.RegisterImage(ctx, &ec2.RegisterImageInput{
		Name: awssdk.String(amiName(w.spec.Name)), Description: awssdk.String("canopy: " + w.spec.Name),
		Architecture: types.ArchitectureValuesX8664, VirtualizationType: awssdk.String("hvm"), EnaSupport: awssdk.Bool(true),
		RootDeviceName: awssdk.String("/dev/xvda"),
		BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: awssdk.String("/dev/xvda"), Ebs: &types.EbsBlockDevice{
			SnapshotId: awssdk.String(w.snap), VolumeSize: awssdk.Int32(int32(max(w.sizeGiB, w.spec.MinDiskGiB))), DeleteOnTermination: awssdk.Bool(true),
			VolumeType: types.VolumeTypeGp3}}},
	})
	if err != nil {
		w.dropSnapshot()
		return providers.Image{}, fail(err, target, "register image %s in %s", w.spec.Name, w.region)
	}
	id := awssdk.ToString(out.ImageId)
	tags := []types.Tag{{Key: awssdk.String("Name"), Value: awssdk.String(w.spec.Name)},
		{Key: awssdk.String(tagSize), Value: awssdk.String(strconv.FormatInt(w.n, 10))},
		{Key: awssdk.String(tagFormat), Value: awssdk.String("raw")}, {Key: awssdk.String(tagSnapshot), Value: awssdk.String(w.snap)}}
	if w.spec.MinRAMMiB > 0 {
		tags = append(tags, types.Tag{Key: awssdk.String(tagMinRAM), Value: awssdk.String(strconv.FormatInt(w.spec.MinRAMMiB, 10))})
	}
	if w.spec.MinDiskGiB > 0 {
		tags = append(tags, types.Tag{Key: awssdk.String(tagMinGiB), Value: awssdk.String(strconv.FormatInt(w.spec.MinDiskGiB, 10))})
	}
	if w.spec.SHA256 != "" {
		tags = append(tags, types.Tag{Key: awssdk.String(tagSHA256), Value: awssdk.String(w.spec.SHA256)})
	}
	for k, v := range w.spec.Labels {
		tags = append(tags, types.Tag{Key: awssdk.String(k), Value: awssdk.String(v)})
	}
	if _, err := api.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: tags}); err != nil {
		_ = w.c.DeleteImage(ctx, id) // untagged, it is not canopy's upload
		return providers.Image{}, fail(err, target, "tag image %s in %s", id, w.region)
	}
	w.c.mu.Lock()
	w.c.where[id] = w.region
	w.c.mu.Unlock()
	return w.c.GetImage(ctx, id)
}

func (w *amiWriter) dropSnapshot() {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), time.Minute)
	defer cancel()
	_ = w.c.DeleteSnapshot(ctx, w.snap)
}

// Abort implements providers.ImageWriter: the snapshot being written is
// deleted (WriteSnapshotData drops it when its reader fails).
func (w *amiWriter) Abort() error {
	if w.finished {
		return nil
	}
	w.finished = true
	err := w.up.Abandon(errors.New("aws: upload aborted"))
	w.cancel()
	if err == nil && w.snap != "" {
		w.dropSnapshot()
	}
	return nil
}

// snapshotCompleted waits until EC2 shows a snapshot the EBS direct API
// completed as completed (it may show it pending a while).
func (c *Cloud) snapshotCompleted(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	for {
		s, err := c.GetSnapshot(ctx, id)
		switch {
		case err != nil:
			return fmt.Errorf("aws: snapshot %s of an image upload: %w", id, err)
		case s.Status == providers.StatusActive:
			return nil
		case s.Status == providers.StatusError:
			return fmt.Errorf("aws: snapshot %s of an image upload: %w: it failed", id, providers.ErrUnavailable)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("aws: snapshot %s not completed: %w", id, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// NewImageReader implements providers.ImageTransfer: the AMI's root
// snapshot's blocks through the EBS direct API, as long as the bytes
// registered (canopy_size) or the whole snapshot for an AMI canopy did
// not make. An AMI without an EBS root snapshot is ErrConflict.
func (c *Cloud) NewImageReader(ctx context.Context, id string) (io.ReadCloser, providers.Image, error) {
	if isContainerImageID(id) {
		return c.newContainerImageReader(ctx, id) // container_images.go
	}
	im, err := c.GetImage(ctx, id)
	if err != nil {
		return nil, providers.Image{}, err
	}
	region, snap, sizeGiB := im.Region, "", int64(0)
	err = c.inRegions(ctx, []string{region}, func(ctx context.Context, r string, api ec2API) error {
		out, err := api.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
		if err != nil {
			return fail(err, target, "describe image %s in %s", id, r)
		}
		for _, x := range out.Images {
			for _, bd := range x.BlockDeviceMappings {
				if bd.Ebs != nil && awssdk.ToString(bd.DeviceName) == awssdk.ToString(x.RootDeviceName) {
					snap, sizeGiB = awssdk.ToString(bd.Ebs.SnapshotId), int64(awssdk.ToInt32(bd.Ebs.VolumeSize))
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, providers.Image{}, err
	}
	if s := im.Labels[tagSnapshot]; s != "" {
		snap = s
	}
	if snap == "" {
		return nil, providers.Image{}, fmt.Errorf("aws: image %s has no EBS root snapshot to read: %w", id, providers.ErrConflict)
	}
	size := sizeGiB << 30
	if n, err := strconv.ParseInt(im.Labels[tagSize], 10, 64); err == nil && n > 0 {
		size = n
	}
	r, err := c.ReadSnapshotData(ctx, region, snap)
	if err != nil {
		return nil, providers.Image{}, err
	}
	return &sizedReader{r: r, left: size}, im, nil
}

// sizedReader yields exactly left bytes of r: cut, or padded with zeros
// (a snapshot's blocks never written are zeros, and are not listed).
type sizedReader struct {
	r    io.ReadCloser
	left int64
	eof  bool
}

func (s *sizedReader) Read(p []byte) (int, error) {
	if s.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	if !s.eof {
		n, err := s.r.Read(p)
		s.left -= int64(n)
		if errors.Is(err, io.EOF) {
			s.eof, err = true, nil
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
	clear(p)
	s.left -= int64(len(p))
	return len(p), nil
}

func (s *sizedReader) Close() error { return s.r.Close() }
