//go:build aws

package aws_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/canopy-cloud/canopy/providers"
	awsp "github.com/canopy-cloud/canopy/providers/aws"
)

// loseFirstAnswer is a proxy in front of moto that forwards every request
// and, for the first one whose form has action, drops the connection
// instead of answering once moto has answered: the create took effect and
// the SDK never heard so. It counts the requests with action that reached
// moto.
func loseFirstAnswer(t *testing.T, action string) (endpoint string, sent *atomic.Int32) {
	t.Helper()
	target, err := url.Parse(motoEndpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	sent = new(atomic.Int32)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out, err := http.NewRequestWithContext(r.Context(), r.Method, target.String()+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		if strings.Contains(string(body), "Action="+action+"&") && sent.Add(1) == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close() // moto made it; the answer is lost
			}
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(answer)
	}))
	t.Cleanup(proxy.Close)
	return proxy.URL, sent
}

// lossyMoto is an adapter on moto through loseFirstAnswer for action, with
// a short create window (a create that finds nothing waits it out).
func lossyMoto(t *testing.T, region, action string) (*awsp.Cloud, *atomic.Int32) {
	t.Helper()
	endpoint, sent := loseFirstAnswer(t, action)
	c, err := awsp.New(context.Background(), "moto", awsp.Options{Regions: []string{region}, Endpoint: endpoint,
		AccessKeyID: "testing", SecretAccessKey: "testing", CreateWindow: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, sent
}

// TestMotoDeleteLostAnswer: the SDK retries a delete whose answer was lost
// after moto had deleted the thing; the retry finds nothing to delete
// (InvalidInternetGatewayID.NotFound, InvalidSubnetID.NotFound). The
// adapter takes that for the first attempt's success. A delete of what was
// never there stays ErrNotFound.
func TestMotoDeleteLostAnswer(t *testing.T) {
	resetMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const region = "us-east-1"
	direct := openMoto(t, []string{region}, nil)
	n, err := direct.CreateNetwork(ctx, providers.NetworkSpec{Name: "lost-del", CIDR: "10.71.0.0/16", IdempotencyToken: "tok-del-net"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		action string
		make   func() (string, error)
		remove func(c *awsp.Cloud, id string) error
	}{
		{"DeleteInternetGateway",
			func() (string, error) {
				r, err := direct.CreateRouter(ctx, providers.RouterSpec{Name: "lost-del", ExternalNetworkID: "amazon", IdempotencyToken: "tok-del-igw"})
				return r.NativeID, err
			},
			func(c *awsp.Cloud, id string) error { return c.DeleteRouter(ctx, id) }},
		{"DeleteSubnet",
			func() (string, error) {
				s, err := direct.CreateSubnet(ctx, providers.SubnetSpec{Name: "lost-del", NetworkID: n.NativeID, CIDR: "10.71.1.0/24", IdempotencyToken: "tok-del-sub"})
				return s.NativeID, err
			},
			func(c *awsp.Cloud, id string) error { return c.DeleteSubnet(ctx, id) }},
	} {
		t.Run(tc.action, func(t *testing.T) {
			id, err := tc.make()
			if err != nil {
				t.Fatal(err)
			}
			c, sent := lossyMoto(t, region, tc.action)
			err = tc.remove(c, id)
			if got := sent.Load(); got < 2 {
				t.Fatalf("%s reached moto %d times: the SDK did not retry the lost answer, so this tests nothing", tc.action, got)
			}
			if err != nil {
				t.Fatalf("%s after a lost answer: %v", tc.action, err)
			}
			if err := tc.remove(direct, id); !errors.Is(err, providers.ErrNotFound) {
				t.Errorf("%s again, answered at once: %v, want ErrNotFound", tc.action, err)
			}
		})
	}
}

// TestMotoAddLostAnswer: the SDK retries an add whose answer was lost
// after moto had made it; the retry meets what the first attempt made
// (InvalidPermission.Duplicate, InvalidKeyPair.Duplicate). The adapter
// finds that and answers with it. Adding it again, answered at once, is
// still ErrAlreadyExists.
func TestMotoAddLostAnswer(t *testing.T) {
	resetMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const region = "us-east-1"
	direct := openMoto(t, []string{region}, nil)
	n, err := direct.CreateNetwork(ctx, providers.NetworkSpec{Name: "lost-add", CIDR: "10.72.0.0/16", IdempotencyToken: "tok-add-net"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := direct.CreateSecurityGroup(ctx, providers.SecurityGroupSpec{Name: "lost-add", Description: "lost answers", NetworkID: n.NativeID, IdempotencyToken: "tok-add-sg"})
	if err != nil {
		t.Fatal(err)
	}
	rule := providers.SecurityRule{Direction: providers.Ingress, Protocol: "tcp", PortMin: 22, PortMax: 22, RemoteCIDR: "192.0.2.0/24", Description: "ssh"}
	for _, tc := range []struct {
		action string
		add    func(c *awsp.Cloud) (string, error)
	}{
		{"AuthorizeSecurityGroupIngress", func(c *awsp.Cloud) (string, error) {
			r, err := c.AddSecurityRule(ctx, g.NativeID, rule)
			if err == nil && (r.Protocol != "tcp" || r.PortMin != 22 || r.RemoteCIDR != "192.0.2.0/24") {
				t.Errorf("rule = %+v, want tcp 22 from 192.0.2.0/24", r)
			}
			return r.NativeID, err
		}},
		{"ImportKeyPair", func(c *awsp.Cloud) (string, error) {
			k, err := c.CreateKeypair(ctx, "lost-add", testKey)
			return k.Name, err
		}},
	} {
		t.Run(tc.action, func(t *testing.T) {
			c, sent := lossyMoto(t, region, tc.action)
			id, err := tc.add(c)
			if got := sent.Load(); got < 2 {
				t.Fatalf("%s reached moto %d times: the SDK did not retry the lost answer, so this tests nothing", tc.action, got)
			}
			if err != nil || id == "" {
				t.Fatalf("%s after a lost answer: %q, %v", tc.action, id, err)
			}
			if _, err := tc.add(direct); !errors.Is(err, providers.ErrAlreadyExists) {
				t.Errorf("%s again, answered at once: %v, want ErrAlreadyExists", tc.action, err)
			}
		})
	}
}

// TestMotoCreateLostAnswerNoDuplicate: a create EC2 does not know as a
// repeat (an internet gateway, a subnet, a VPC) whose answer was lost
// after moto made it. The SDK, left alone, sent it again and made a second
// one (CI: two gateways with one token) or met the first (CI:
// InvalidSubnet.Conflict). The adapter keeps the SDK from resending
// a create with a token, finds the first by its token, and answers with
// it: one resource carries the token.
func TestMotoCreateLostAnswerNoDuplicate(t *testing.T) {
	resetMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const region = "us-east-1"
	sdk := ec2Client(t, region)
	for _, tc := range []struct {
		action string
		create func(c *awsp.Cloud) (string, error)
		count  func() (int, error)
	}{
		{"CreateInternetGateway",
			func(c *awsp.Cloud) (string, error) {
				r, err := c.CreateRouter(ctx, providers.RouterSpec{Name: "lost-igw", ExternalNetworkID: "amazon", IdempotencyToken: "tok-lost-igw"})
				return r.NativeID, err
			},
			func() (int, error) {
				out, err := sdk.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: tagged("tok-lost-igw")})
				if err != nil {
					return 0, err
				}
				return len(out.InternetGateways), nil
			}},
		{"CreateSubnet", // the retry met the first attempt's CIDR: InvalidSubnet.Conflict
			func(c *awsp.Cloud) (string, error) {
				n, err := openMoto(t, []string{region}, nil).CreateNetwork(ctx, providers.NetworkSpec{Name: "lost-sub", CIDR: "10.70.0.0/16", IdempotencyToken: "tok-lost-net"})
				if err != nil {
					return "", err
				}
				s, err := c.CreateSubnet(ctx, providers.SubnetSpec{Name: "lost", NetworkID: n.NativeID, CIDR: "10.70.1.0/24", IdempotencyToken: "tok-lost-sub"})
				return s.NativeID, err
			},
			func() (int, error) {
				out, err := sdk.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: tagged("tok-lost-sub")})
				if err != nil {
					return 0, err
				}
				return len(out.Subnets), nil
			}},
		{"CreateVpc",
			func(c *awsp.Cloud) (string, error) {
				n, err := c.CreateNetwork(ctx, providers.NetworkSpec{Name: "lost-vpc", CIDR: "10.73.0.0/16", IdempotencyToken: "tok-lost-vpc"})
				return n.NativeID, err
			},
			func() (int, error) {
				out, err := sdk.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: tagged("tok-lost-vpc")})
				if err != nil {
					return 0, err
				}
				return len(out.Vpcs), nil
			}},
	} {
		t.Run(tc.action, func(t *testing.T) {
			c, sent := lossyMoto(t, region, tc.action)
			id, err := tc.create(c)
			if got := sent.Load(); got < 1 {
				t.Fatalf("%s never reached moto", tc.action)
			}
			if err != nil || id == "" {
				t.Fatalf("%s after a lost answer: %q, %v", tc.action, id, err)
			}
			if n, err := tc.count(); err != nil || n != 1 {
				t.Errorf("%s: %d resources carry the token (%v), want 1", tc.action, n, err)
			}
		})
	}
}
