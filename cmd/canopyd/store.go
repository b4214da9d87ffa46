package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/canopy-cloud/canopy/ownership"
	"github.com/canopy-cloud/canopy/store"
	"github.com/canopy-cloud/canopy/store/bolt"
	"github.com/canopy-cloud/canopy/store/etcd"
)

// storeSpec is what --store names: a bbolt file (the embedded default, one
// canopyd per file) or an etcd cluster (what several replicas share).
type storeSpec struct {
	// Path is the bbolt file; empty for etcd.
	Path string
	// Endpoints and Prefix name the etcd cluster and the key root in it.
	Endpoints []string
	Prefix    string
}

// parseStore reads --store:
//
//	""                             DATA_DIR/canopy.db
//	PATH, bolt://PATH              that bbolt file
//	etcd://HOST:PORT[,...][/ROOT]  an etcd cluster (etcd.ParseURL)
func parseStore(s, dataDir string) (storeSpec, error) {
	if strings.HasPrefix(s, etcd.Scheme) {
		eps, prefix, err := etcd.ParseURL(s)
		if err != nil {
			return storeSpec{}, fmt.Errorf("--store: %w", err)
		}
		return storeSpec{Endpoints: eps, Prefix: prefix}, nil
	}
	path := strings.TrimPrefix(s, "bolt://")
	if path == "" {
		path = filepath.Join(dataDir, "canopy.db")
	}
	if strings.Contains(path, "://") {
		return storeSpec{}, fmt.Errorf("--store %q: unsupported scheme (bolt://PATH or etcd://HOST:PORT,...)", s)
	}
	return storeSpec{Path: path}, nil
}

// String is how the log names the store.
func (sp storeSpec) String() string {
	if sp.Path != "" {
		return sp.Path
	}
	hosts := make([]string, len(sp.Endpoints))
	for i, ep := range sp.Endpoints {
		hosts[i] = strings.TrimPrefix(ep, "http://")
	}
	return etcd.Scheme + strings.Join(hosts, ",") + sp.Prefix
}

// open opens the store the spec names.
func (sp storeSpec) open(ctx context.Context) (store.Store, error) {
	if sp.Path != "" {
		return bolt.Open(sp.Path)
	}
	return etcd.Open(ctx, sp.Endpoints, etcd.WithPrefix(sp.Prefix))
}

// replicate returns the Owner of a replica on an etcd store (nil on
// bbolt, where this process owns everything): elections per cloud and
// operation claims under one lease of ttl seconds, named id (default
// HOST-PID, unique among live replicas).
func replicate(st store.Store, id string, ttl int) *ownership.Etcd {
	es, ok := st.(*etcd.Store)
	if !ok {
		return nil
	}
	if id == "" {
		host, _ := os.Hostname()
		id = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	return ownership.NewEtcd(es.Client(), es.Prefix(), id, ttl)
}
