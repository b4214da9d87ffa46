package aws

// The EBS direct API (service "ebs"): a snapshot's blocks read and
// written over HTTPS, nothing attached anywhere. It is how canopy moves a
// volume's bytes on AWS, where EC2 has no call that reads or writes a
// volume:
//
//   - ReadVolumeData snapshots the volume (EC2 CreateSnapshot), streams the
//     snapshot's blocks (ListSnapshotBlocks, then GetSnapshotBlock one
//     block at a time, unwritten blocks as zeros) and deletes the snapshot
//     when the reader is closed.
//   - CreateVolumeFromData writes a stream into a new snapshot
//     (StartSnapshot, PutSnapshotBlock for each block that is not all
//     zeros, CompleteSnapshot) and creates the volume from it. EBS cannot
//     write into an existing volume, so that is the only way in.
//
// Memory is one block (512 KiB on AWS) per stream, whatever the volume's
// size. Each block carries its SHA-256, which EBS checks on write and
// returns on read (checked here).

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	ebsdirect "github.com/aws/aws-sdk-go-v2/service/ebs"
	ebstypes "github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/canopy-cloud/canopy/providers"
)

// directState holds the EBS direct clients, one per region.
type directState struct {
	mu      sync.Mutex
	clients map[string]*ebsdirect.Client
}

func (c *Cloud) directClient(region string) (*ebsdirect.Client, error) {
	if c.s3.cfg == nil {
		return nil, fmt.Errorf("aws: cloud %q: %w: the EBS direct API is not configured", c.name, providers.ErrUnsupported)
	}
	c.direct.mu.Lock()
	defer c.direct.mu.Unlock()
	if cl, ok := c.direct.clients[region]; ok {
		return cl, nil
	}
	if c.direct.clients == nil {
		c.direct.clients = map[string]*ebsdirect.Client{}
	}
	cl := ebsdirect.NewFromConfig(*c.s3.cfg, func(o *ebsdirect.Options) {
		o.Region = region
		if c.opts.Endpoint != "" {
			o.BaseEndpoint = awssdk.String(c.opts.Endpoint)
		}
	})
	c.direct.clients[region] = cl
	return cl, nil
}

func directFail(err error, format string, args ...any) error {
	return fmt.Errorf("aws: %s: %w", fmt.Sprintf(format, args...), mapErr(err, target))
}

func blockSum(b []byte) string {
	s := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

// SnapshotDataSpec is what WriteSnapshotData needs.
type SnapshotDataSpec struct {
	Region      string // "" the cloud's default region
	SizeGiB     int64  // the snapshot's volume size
	Description string
	// Token is the ClientToken of StartSnapshot (AWS answers a repeated
	// start with the same snapshot).
	Token string
}

// WriteSnapshotData writes what r yields into a new snapshot through the
// EBS direct API and returns the snapshot's id once it is completed on
// EBS's side (EC2 may still show it pending). Blocks of zeros are not
// sent; more bytes than SizeGiB is ErrInvalid.
func (c *Cloud) WriteSnapshotData(ctx context.Context, spec SnapshotDataSpec, r io.Reader) (string, error) {
	if err := c.check(); err != nil {
		return "", err
	}
	region := spec.Region
	if region == "" {
		region = c.regions[0]
	}
	if spec.SizeGiB <= 0 {
		return "", fmt.Errorf("aws: write snapshot data: %w: size_gib %d", providers.ErrInvalid, spec.SizeGiB)
	}
	cl, err := c.directClient(region)
	if err != nil {
		return "", err
	}
	in := &ebsdirect.StartSnapshotInput{VolumeSize: awssdk.Int64(spec.SizeGiB), Description: awssdk.String(spec.Description),
		Tags: []ebstypes.Tag{{Key: awssdk.String("canopy-data"), Value: awssdk.String("1")}}}
	if spec.Token != "" {
		in.ClientToken = awssdk.String(spec.Token)
	}
	start, err := cl.StartSnapshot(ctx, in)
	if err != nil {
		return "", directFail(err, "start snapshot in %s", region)
	}
	id := awssdk.ToString(start.SnapshotId)
	bs := int(awssdk.ToInt32(start.BlockSize))
	if bs <= 0 {
		return "", fmt.Errorf("aws: start snapshot %s: %w: block size %d", id, providers.ErrUnavailable, bs)
	}
	// A snapshot not completed is of no use: deleted on any failure (EBS
	// would fail it only after StartSnapshot's timeout).
	done := false
	defer func() {
		if !done {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			_ = c.DeleteSnapshot(dctx, id)
		}
	}()
	limit := spec.SizeGiB << 30
	buf := make([]byte, bs)
	var total int64
	var changed int32
	for idx := int32(0); ; idx++ {
		n, rerr := io.ReadFull(r, buf)
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			return "", fmt.Errorf("aws: write snapshot %s: %w", id, rerr)
		}
		if total += int64(n); total > limit {
			return "", fmt.Errorf("aws: write snapshot %s: %w: more bytes than its %d GiB", id, providers.ErrInvalid, spec.SizeGiB)
		}
		clear(buf[n:])
		if n > 0 && bytes.Count(buf, []byte{0}) != bs {
			if _, err := cl.PutSnapshotBlock(ctx, &ebsdirect.PutSnapshotBlockInput{
				SnapshotId: awssdk.String(id), BlockIndex: awssdk.Int32(idx), BlockData: bytes.NewReader(buf),
				DataLength: awssdk.Int32(int32(bs)), Checksum: awssdk.String(blockSum(buf)), ChecksumAlgorithm: ebstypes.ChecksumAlgorithmChecksumAlgorithmSha256,
			}); err != nil {
				return "", directFail(err, "put block %d of snapshot %s", idx, id)
			}
			changed++
		}
		if rerr != nil {
			break
		}
	}
	if _, err := cl.CompleteSnapshot(ctx, &ebsdirect.CompleteSnapshotInput{SnapshotId: awssdk.String(id), ChangedBlocksCount: awssdk.Int32(changed)}); err != nil {
		return "", directFail(err, "complete snapshot %s", id)
	}
	done = true
	return id, nil
}

// ReadSnapshotData streams a snapshot's bytes through the EBS direct API,
// from block 0 to the last block written; blocks never written read as
// zeros. region "" is the cloud's default region.
func (c *Cloud) ReadSnapshotData(ctx context.Context, region, snapshotID string) (io.ReadCloser, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if region == "" {
		region = c.regions[0]
	}
	cl, err := c.directClient(region)
	if err != nil {
		return nil, err
	}
	r := &snapshotReader{ctx: ctx, cl: cl, id: snapshotID}
	if err := r.nextPage(); err != nil {
		return nil, err
	}
	return r, nil
}

// snapshotReader reads a snapshot block by block, a page of the block
// list at a time.
type snapshotReader struct {
	ctx    context.Context
	cl     *ebsdirect.Client
	id     string
	bs     int
	page   []ebstypes.Block
	token  *string // the next page's
	last   bool    // no page after this one
	next   int32   // the index of the next block to emit
	cur    []byte  // what is left of the block being read
	zeros  []byte
	closed bool
}

func (r *snapshotReader) nextPage() error {
	out, err := r.cl.ListSnapshotBlocks(r.ctx, &ebsdirect.ListSnapshotBlocksInput{SnapshotId: awssdk.String(r.id), NextToken: r.token, MaxResults: awssdk.Int32(1000)})
	if err != nil {
		return directFail(err, "list the blocks of snapshot %s", r.id)
	}
	r.bs = int(awssdk.ToInt32(out.BlockSize))
	r.page, r.token = out.Blocks, out.NextToken
	r.last = r.token == nil || *r.token == ""
	return nil
}

func (r *snapshotReader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, errors.New("aws: read after close")
	}
	for len(r.cur) == 0 {
		if len(r.page) == 0 {
			if r.last {
				return 0, io.EOF
			}
			if err := r.nextPage(); err != nil {
				return 0, err
			}
			continue
		}
		b := r.page[0]
		idx := awssdk.ToInt32(b.BlockIndex)
		if idx > r.next { // a block never written
			if r.zeros == nil {
				r.zeros = make([]byte, r.bs)
			}
			r.cur, r.next = r.zeros, r.next+1
			break
		}
		data, err := r.block(idx, awssdk.ToString(b.BlockToken))
		if err != nil {
			return 0, err
		}
		r.page, r.cur, r.next = r.page[1:], data, idx+1
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// block reads one block and checks its checksum.
func (r *snapshotReader) block(idx int32, token string) ([]byte, error) {
	out, err := r.cl.GetSnapshotBlock(r.ctx, &ebsdirect.GetSnapshotBlockInput{SnapshotId: awssdk.String(r.id), BlockIndex: awssdk.Int32(idx), BlockToken: awssdk.String(token)})
	if err != nil {
		return nil, directFail(err, "get block %d of snapshot %s", idx, r.id)
	}
	defer out.BlockData.Close()
	data, err := io.ReadAll(io.LimitReader(out.BlockData, int64(r.bs)+1))
	if err != nil {
		return nil, fmt.Errorf("aws: read block %d of snapshot %s: %w: %v", idx, r.id, providers.ErrUnavailable, err)
	}
	if sum := awssdk.ToString(out.Checksum); sum != "" && out.ChecksumAlgorithm == ebstypes.ChecksumAlgorithmChecksumAlgorithmSha256 && sum != blockSum(data) {
		return nil, fmt.Errorf("aws: block %d of snapshot %s: %w: its SHA-256 is not the one EBS sent", idx, r.id, providers.ErrIntegrity)
	}
	return data, nil
}

func (r *snapshotReader) Close() error { r.closed = true; return nil }

// ReadVolumeData streams a volume's bytes: a snapshot of it read through
// the EBS direct API, deleted when the reader is closed.
func (c *Cloud) ReadVolumeData(ctx context.Context, volumeID string) (io.ReadCloser, error) {
	v, err := c.GetVolume(ctx, volumeID)
	if err != nil {
		return nil, err
	}
	snap, err := c.CreateSnapshot(ctx, providers.SnapshotSpec{VolumeID: volumeID, Description: "canopy: reading volume " + volumeID,
		IdempotencyToken: fmt.Sprintf("canopy-volume-data-%s-%d", volumeID, time.Now().UnixNano())})
	if err != nil {
		return nil, fmt.Errorf("aws: read volume %s: %w", volumeID, err)
	}
	drop := func() {
		dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = c.DeleteSnapshot(dctx, snap.NativeID)
	}
	for snap.Status != providers.StatusActive {
		if snap.Status == providers.StatusError {
			drop()
			return nil, fmt.Errorf("aws: read volume %s: %w: its snapshot %s failed", volumeID, providers.ErrUnavailable, snap.NativeID)
		}
		select {
		case <-ctx.Done():
			drop()
			return nil, fmt.Errorf("aws: read volume %s: snapshot %s not completed: %w", volumeID, snap.NativeID, ctx.Err())
		case <-time.After(time.Second):
		}
		if snap, err = c.GetSnapshot(ctx, snap.NativeID); err != nil {
			drop()
			return nil, fmt.Errorf("aws: read volume %s: %w", volumeID, err)
		}
	}
	r, err := c.ReadSnapshotData(ctx, v.Region, snap.NativeID)
	if err != nil {
		drop()
		return nil, fmt.Errorf("aws: read volume %s: %w", volumeID, err)
	}
	return &dropOnClose{ReadCloser: r, drop: drop}, nil
}

type dropOnClose struct {
	io.ReadCloser
	drop func()
	once sync.Once
}

func (d *dropOnClose) Close() error {
	err := d.ReadCloser.Close()
	d.once.Do(d.drop)
	return err
}

// CreateVolumeFromData makes a new volume holding what r yields: the
// bytes into a snapshot (WriteSnapshotData), the volume from it
// (CreateVolume, with spec's token). The snapshot stays with the volume's
// source (SnapshotID), as any volume made from a snapshot.
func (c *Cloud) CreateVolumeFromData(ctx context.Context, spec providers.VolumeSpec, r io.Reader) (providers.Volume, error) {
	if spec.SizeGiB <= 0 {
		return providers.Volume{}, fmt.Errorf("aws: create volume %q from data: %w: size_gib is required", spec.Name, providers.ErrInvalid)
	}
	_, region, err := c.volumeZone(ctx, spec.Zone)
	if err != nil {
		return providers.Volume{}, err
	}
	if spec.IdempotencyToken != "" { // a replay: the volume made before, r unread
		if v, found, err := c.volumeByToken(ctx, region, spec.IdempotencyToken); err != nil || found {
			return v, err
		}
	}
	id, err := c.WriteSnapshotData(ctx, SnapshotDataSpec{Region: region, SizeGiB: spec.SizeGiB, Token: spec.IdempotencyToken,
		Description: "canopy: data of volume " + spec.Name}, r)
	if err != nil {
		return providers.Volume{}, err
	}
	spec.SnapshotID, spec.ImageID = id, ""
	return c.CreateVolume(ctx, spec)
}
