package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"strings"

	"golang.org/x/crypto/ssh"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// generateKey makes a keypair in canopy, so every cloud gets the same kind
// of key whatever its own generator does.
func generateKey(typ string) (pub, priv string, err error) {
	var key any
	switch typ {
	case "", "ssh-ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return "", "", err
		}
		key = k
	case "ssh-rsa":
		k, err := rsa.GenerateKey(rand.Reader, 3072)
		if err != nil {
			return "", "", err
		}
		key = k
	default:
		return "", "", router.BadRequest("type", "unknown key type %q: want ssh-ed25519 or ssh-rsa", typ)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		return "", "", err
	}
	block, err := ssh.MarshalPrivateKey(key, "canopy")
	if err != nil {
		return "", "", err
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))), string(pem.EncodeToMemory(block)), nil
}

// CreateKeypair implements canopyv1.ComputeServiceServer.
func (s *computeService) CreateKeypair(ctx context.Context, req *canopyv1.CreateKeypairRequest) (*canopyv1.Keypair, error) {
	if err := router.CheckName("name", req.GetName()); err != nil {
		return nil, err
	}
	if err := router.CheckRequestID(req.GetRequestId()); err != nil {
		return nil, err
	}
	pub, priv := req.GetPublicKey(), ""
	if pub != "" {
		if req.GetType() != "" {
			return nil, router.BadRequest("type", "only for generated keys; the imported key has its own type")
		}
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(pub)); err != nil {
			return nil, router.BadRequest("public_key", "not an OpenSSH public key: %v", err)
		}
	} else {
		var err error
		if pub, priv, err = generateKey(req.GetType()); err != nil {
			return nil, err
		}
	}
	cl, err := s.rt.RouteCreate(req.GetLocation())
	if err != nil {
		return nil, err
	}
	c, err := cl.ComputeOrFail()
	if err != nil {
		return nil, err
	}
	m, created, err := s.store.Reserve(ctx, store.Mapping{Cloud: cl.Name, Kind: providers.KindKeypair, Project: project(ctx), RequestID: req.GetRequestId()})
	if err != nil {
		return nil, router.StoreErr("reserve keypair id", err)
	}
	if !created && !m.Pending() {
		k, err := c.GetKeypair(ctx, m.NativeID)
		if err != nil {
			return nil, router.CloudErr(cl.Name, "get keypair "+m.NativeID, err)
		}
		return keypairPBIn(cl.Name, m, k), nil // the private key is never kept, so a retry cannot return it
	}
	if created { // keypair names are one namespace per cloud account (router/names.go)
		if err := router.CheckNameFree(ctx, s.store, cl, providers.KindKeypair, "name", req.GetName()); err != nil {
			_ = s.store.Delete(context.WithoutCancel(ctx), m.ID)
			return nil, err
		}
	}
	k, err := c.CreateKeypair(ctx, req.GetName(), pub)
	if err != nil && !created && errors.Is(err, providers.ErrAlreadyExists) {
		// A replay: keypair names are the clouds' own idempotency key, so
		// the earlier attempt's keypair is the one by that name — if it
		// holds the same public key (an import); a generated key differs
		// on every attempt, and the earlier one's private key was never
		// returned, so that keypair is of no use to the caller.
		if prior, gerr := c.GetKeypair(ctx, req.GetName()); gerr == nil && sameKey(prior.PublicKey, pub) {
			k, err = prior, nil
		} else if gerr == nil {
			_ = s.store.Delete(context.WithoutCancel(ctx), m.ID)
			return nil, status.Errorf(codes.AlreadyExists, "keypair %q already exists in cloud %q with another public key (if an earlier attempt of this request made it, its generated private key was never returned: delete the keypair and create it again)", req.GetName(), cl.Name)
		}
	}
	if err != nil {
		if created {
			_ = s.store.Delete(context.WithoutCancel(ctx), m.ID)
		}
		return nil, router.NameTakenErr(cl, providers.KindKeypair, "name", req.GetName(), "create keypair "+req.GetName(), err)
	}
	if m, err = s.store.Bind(context.WithoutCancel(ctx), m.ID, k.NativeID); err != nil {
		return nil, router.StoreErr("bind keypair "+k.NativeID, err)
	}
	out := keypairPBIn(cl.Name, m, k)
	out.PrivateKey = priv
	return out, nil
}

func (s *computeService) cloudKeypairs(ctx context.Context, cl *router.Cloud) ([]*canopyv1.Keypair, error) {
	c, err := cl.ComputeOrFail()
	if err != nil {
		return nil, err
	}
	list, err := c.ListKeypairs(ctx)
	if err != nil {
		return nil, router.CloudErr(cl.Name, "list keypairs", err)
	}
	return router.AdoptAll(ctx, s.rt, cl, providers.KindKeypair, list, func(k providers.Keypair) string { return k.NativeID },
		func(k providers.Keypair, m store.Mapping) *canopyv1.Keypair { return keypairPBIn(cl.Name, m, k) })
}

// keypairPBIn converts a keypair with its mapping (canopy id and project).
func keypairPBIn(cloud string, m store.Mapping, k providers.Keypair) *canopyv1.Keypair {
	out := keypairPB(cloud, m.ID, k)
	out.Location.Project = m.Project
	return out
}

// ListKeypairs implements canopyv1.ComputeServiceServer.
func (s *computeService) ListKeypairs(ctx context.Context, req *canopyv1.ListKeypairsRequest) (*canopyv1.ListKeypairsResponse, error) {
	q := router.Query{PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), Location: req.GetLocation(), Labels: nil, Filters: []any{"keypairs", req.GetName()}}
	page, next, errs, err := router.List(ctx, s.rt, q, s.cloudKeypairs, func(k *canopyv1.Keypair) bool {
		return k.Location.GetProject() == project(ctx) && (req.GetName() == "" || k.Name == req.GetName()) && router.MatchLocation(req.GetLocation(), k.Location.GetRegion(), "")
	})
	if err != nil {
		return nil, err
	}
	return &canopyv1.ListKeypairsResponse{Keypairs: page, NextPageToken: next, CloudErrors: errs, Unreachable: router.Unreachable(errs)}, nil
}

// findKeypair resolves a keypair id or name to its cloud and mapping.
func (s *computeService) findKeypair(ctx context.Context, v string) (*router.Cloud, store.Mapping, error) {
	return router.Find(ctx, s.rt, providers.KindKeypair, "id", v, s.cloudKeypairs)
}

// GetKeypair implements canopyv1.ComputeServiceServer.
func (s *computeService) GetKeypair(ctx context.Context, req *canopyv1.GetKeypairRequest) (*canopyv1.Keypair, error) {
	cl, m, err := s.findKeypair(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	k, err := cl.Compute.GetKeypair(ctx, m.NativeID)
	if errors.Is(err, providers.ErrNotFound) {
		_ = s.store.Delete(ctx, m.ID)
		return nil, router.NotFound(providers.KindKeypair, req.GetId())
	}
	if err != nil {
		return nil, router.CloudErr(cl.Name, "get keypair "+m.NativeID, err)
	}
	return keypairPBIn(cl.Name, m, k), nil
}

// DeleteKeypair implements canopyv1.ComputeServiceServer.
func (s *computeService) DeleteKeypair(ctx context.Context, req *canopyv1.DeleteKeypairRequest) (*canopyv1.DeleteKeypairResponse, error) {
	cl, m, err := s.findKeypair(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	err = cl.Compute.DeleteKeypair(ctx, m.NativeID)
	if err != nil && !errors.Is(err, providers.ErrNotFound) {
		return nil, router.CloudErr(cl.Name, "delete keypair "+m.NativeID, err)
	}
	if derr := s.store.Delete(context.WithoutCancel(ctx), m.ID); derr != nil && !errors.Is(derr, store.ErrNotFound) {
		return nil, router.StoreErr("forget keypair "+m.ID, derr)
	}
	if err != nil {
		return nil, router.NotFound(providers.KindKeypair, req.GetId())
	}
	return &canopyv1.DeleteKeypairResponse{Id: m.ID}, nil
}

// sameKey reports whether two authorized_keys lines hold the same key
// (comments aside).
func sameKey(a, b string) bool {
	ka, _, _, _, errA := ssh.ParseAuthorizedKey([]byte(a))
	kb, _, _, _, errB := ssh.ParseAuthorizedKey([]byte(b))
	return errA == nil && errB == nil && bytes.Equal(ka.Marshal(), kb.Marshal())
}
