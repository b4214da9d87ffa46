package etcd

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Scheme is the URL scheme canopyd's --store takes for an etcd cluster.
const Scheme = "etcd://"

// ParseURL reads etcd://HOST:PORT[,HOST:PORT...][/ROOT]: the client
// endpoints of the cluster's members (any one that answers will do; listing
// all lets the client fail over) and, optionally, the key root the store
// lives under (default DefaultPrefix), so several canopy deployments can
// share a cluster. Endpoints come back as "http://HOST:PORT".
func ParseURL(u string) (endpoints []string, prefix string, err error) {
	rest, ok := strings.CutPrefix(u, Scheme)
	if !ok {
		return nil, "", fmt.Errorf("%q: not an %sHOST:PORT,... URL", u, Scheme)
	}
	hosts, path, hasPath := strings.Cut(rest, "/")
	prefix = DefaultPrefix
	if hasPath && strings.Trim(path, "/") != "" {
		prefix = "/" + strings.Trim(path, "/")
	}
	if strings.ContainsAny(hosts, "?#@") {
		return nil, "", fmt.Errorf("%q: credentials, queries and fragments are not supported", u)
	}
	for _, h := range strings.Split(hosts, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil {
			return nil, "", fmt.Errorf("%q: endpoint %q: want HOST:PORT", u, h)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || host == "" {
			return nil, "", fmt.Errorf("%q: endpoint %q: want HOST:PORT with a port in 1-65535", u, h)
		}
		endpoints = append(endpoints, "http://"+net.JoinHostPort(host, port))
	}
	return endpoints, prefix, nil
}
