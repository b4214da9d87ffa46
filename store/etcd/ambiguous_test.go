//go:build etcd

package etcd_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/store"
	"github.com/canopy-cloud/canopy/store/etcd"
)

// loseAnswer drops the answer to one committed write transaction once
// armed: the write is applied by the cluster, and the client sees
// Unavailable, as when the member it talked to dies between committing and
// answering. The store must retry and recognise its own write.
type loseAnswer struct {
	armed atomic.Bool
	lost  atomic.Int32
}

func (l *loseAnswer) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if err != nil || method != "/etcdserverpb.KV/Txn" {
		return err
	}
	writes := false
	for _, op := range req.(*pb.TxnRequest).Success {
		writes = writes || op.GetRequestPut() != nil || op.GetRequestDeleteRange() != nil
	}
	if writes && reply.(*pb.TxnResponse).Succeeded && l.armed.CompareAndSwap(true, false) {
		l.lost.Add(1)
		return status.Error(codes.Unavailable, "test: the answer to a committed write was lost")
	}
	return nil
}

func TestLostAnswerToACommittedWrite(t *testing.T) {
	setup := func(t *testing.T) (*etcd.Store, *loseAnswer) {
		l := &loseAnswer{}
		s := open(t, freshPrefix(t), etcd.WithClientConfig(func(c *clientv3.Config) {
			c.DialOptions = append(c.DialOptions, grpc.WithChainUnaryInterceptor(l.intercept))
		}))
		return s, l
	}
	// lost runs fn with the next write's answer dropped and checks that it
	// was (so the case tests what it says).
	lost := func(t *testing.T, l *loseAnswer, fn func() error) {
		t.Helper()
		l.armed.Store(true)
		if err := fn(); err != nil {
			t.Fatalf("after a lost answer: %v", err)
		}
		if l.lost.Load() != 1 || l.armed.Load() {
			t.Fatalf("no answer was lost: the case did not write")
		}
	}
	m0 := store.Mapping{Cloud: "c1", Kind: "server", Project: "p1"}
	cases := map[string]func(t *testing.T, s *etcd.Store, l *loseAnswer){
		"Reserve": func(t *testing.T, s *etcd.Store, l *loseAnswer) {
			lost(t, l, func() error {
				m, created, err := s.Reserve(t.Context(), m0)
				if err == nil && !created {
					t.Errorf("Reserve: created=false for the mapping it wrote (%s)", m.ID)
				}
				return err
			})
			if ms, _ := s.List(t.Context(), "c1", "server"); len(ms) != 1 {
				t.Errorf("%d mappings, want 1", len(ms))
			}
		},
		"ReserveWithRequestID": func(t *testing.T, s *etcd.Store, l *loseAnswer) {
			req := m0
			req.RequestID = "r1"
			lost(t, l, func() error {
				_, created, err := s.Reserve(t.Context(), req)
				if err == nil && !created {
					t.Error("Reserve: created=false for the mapping it wrote")
				}
				return err
			})
			if _, created, _ := s.Reserve(t.Context(), req); created {
				t.Error("a later retry reported created")
			}
		},
		"Bind": func(t *testing.T, s *etcd.Store, l *loseAnswer) {
			m, _, _ := s.Reserve(t.Context(), m0)
			lost(t, l, func() error { _, err := s.Bind(t.Context(), m.ID, "n1"); return err })
			if got, err := s.Lookup(t.Context(), "c1", "server", "n1"); err != nil || got.ID != m.ID {
				t.Errorf("Lookup = %+v, %v", got, err)
			}
		},
		"Delete": func(t *testing.T, s *etcd.Store, l *loseAnswer) {
			m, _, _ := s.Reserve(t.Context(), m0)
			lost(t, l, func() error { return s.Delete(t.Context(), m.ID) })
			if _, err := s.Get(t.Context(), m.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Get after Delete: %v", err)
			}
		},
		"Adopt": func(t *testing.T, s *etcd.Store, l *loseAnswer) {
			lost(t, l, func() error {
				ms, err := s.Adopt(t.Context(), "c1", "server", "p1", []string{"a", "b"})
				if err == nil && (ms[0].NativeID != "a" || ms[1].NativeID != "b") {
					t.Errorf("Adopt = %+v", ms)
				}
				return err
			})
		},
		"CreateOperation": func(t *testing.T, s *etcd.Store, l *loseAnswer) {
			lost(t, l, func() error {
				_, created, err := s.CreateOperation(t.Context(), store.Operation{Project: "p1", Kind: "volume.create", RequestID: "r1"})
				if err == nil && !created {
					t.Error("CreateOperation: created=false for the operation it wrote")
				}
				return err
			})
		},
		"UpdateOperationToDone": func(t *testing.T, s *etcd.Store, l *loseAnswer) {
			op, _, _ := s.CreateOperation(t.Context(), store.Operation{Project: "p1", Kind: "volume.create"})
			op.Done, op.Result = true, []byte("{}")
			lost(t, l, func() error { _, err := s.UpdateOperation(t.Context(), op); return err })
			if got, _ := s.GetOperation(t.Context(), op.ID); !got.Done {
				t.Errorf("operation not done: %+v", got)
			}
		},
		"DeleteOperation": func(t *testing.T, s *etcd.Store, l *loseAnswer) {
			op, _, _ := s.CreateOperation(t.Context(), store.Operation{Project: "p1", Kind: "volume.create"})
			lost(t, l, func() error { return s.DeleteOperation(t.Context(), op.ID) })
		},
		"CreateRecord": func(t *testing.T, s *etcd.Store, l *loseAnswer) {
			lost(t, l, func() error {
				_, created, err := s.CreateRecord(t.Context(), "claims", "k", []byte("me"))
				if err == nil && !created {
					t.Error("CreateRecord: created=false for the claim it made")
				}
				return err
			})
		},
		"DeleteRecord": func(t *testing.T, s *etcd.Store, l *loseAnswer) {
			_ = s.PutRecord(t.Context(), "ns", "k", []byte("v"))
			lost(t, l, func() error { return s.DeleteRecord(t.Context(), "ns", "k") })
		},
		"DeleteClient": func(t *testing.T, s *etcd.Store, l *loseAnswer) {
			_ = s.PutClient(t.Context(), store.Client{ID: "c1"})
			lost(t, l, func() error { return s.DeleteClient(t.Context(), "c1") })
		},
		"PutSigningKey": func(t *testing.T, s *etcd.Store, l *loseAnswer) {
			lost(t, l, func() error { return s.PutSigningKey(t.Context(), store.SigningKey{ID: "k1"}) })
			if ks, _ := s.ListSigningKeys(t.Context()); len(ks) != 1 {
				t.Errorf("keys = %v", ks)
			}
		},
	}
	for name, fn := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, l := setup(t)
			fn(t, s, l)
		})
	}
}
