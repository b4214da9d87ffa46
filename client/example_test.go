package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/canopy-cloud/canopy/client"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// Dial as the CLI does: $CANOPY_ADDR, and a token from the credentials file
// canopyd wrote on its first start ($CANOPY_CREDENTIALS), refreshed before
// it expires.
func ExampleDialEnv() {
	ctx := context.Background()
	c, err := client.DialEnv(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	f, err := c.Compute.FindFlavor(ctx, &canopyv1.FindFlavorRequest{MinRamMib: 4096})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.GetName(), f.GetVcpus(), f.GetRamMib())
	// Output: m1.medium 2 4096
}

// Dial an explicit address with an explicit credentials file. Over TLS, add
// client.WithCAFile (or client.WithTLS); a token goes in plaintext only to
// loopback.
func ExampleDial() {
	ctx := context.Background()
	c, err := client.Dial(ctx, os.Getenv("CANOPY_ADDR"), client.WithCredentialsFile(os.Getenv("CANOPY_CREDENTIALS")))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	cl, err := c.Clouds.GetCloud(ctx, &canopyv1.GetCloudRequest{Name: "local"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cl.GetName(), cl.GetKind())
	// Output: local sim
}

// A token source of one's own: client credentials exchanged at the token
// endpoint, reused until shortly before they expire.
func ExampleCredentials_TokenSource() {
	ctx := context.Background()
	creds, err := client.ReadCredentials(os.Getenv("CANOPY_CREDENTIALS"))
	if err != nil {
		log.Fatal(err)
	}
	src := creds.TokenSource(ctx)
	tok, err := src.Token()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.TokenType, tok.Valid())
	c, err := client.Dial(ctx, os.Getenv("CANOPY_ADDR"), client.WithTokenSource(src))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	_, err = c.Compute.GetFlavor(ctx, &canopyv1.GetFlavorRequest{Id: "no-such-flavor"})
	fmt.Println(client.Code(err))
	// Output:
	// Bearer true
	// NotFound
}

// Volume calls return an Operation; Await waits for it (WaitOperation on
// the server, no polling of the cloud) and unpacks the volume.
func ExampleAwait() {
	ctx := context.Background()
	c, err := client.DialEnv(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	op, err := c.Volumes.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "example-data", SizeGib: 2,
		Location: &canopyv1.Location{Cloud: "local"}})
	if err != nil {
		log.Fatal(err)
	}
	vol, err := client.Await[*canopyv1.Volume](ctx, c, op)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(vol.GetName(), vol.GetSizeGib(), vol.GetStatus())
	op, err = c.Volumes.DeleteVolume(ctx, &canopyv1.DeleteVolumeRequest{Id: vol.GetId()})
	if err != nil {
		log.Fatal(err)
	}
	op, err = c.Wait(ctx, op)
	fmt.Println(op.GetMetadata().GetKind(), op.GetDone(), err)
	// Output:
	// example-data 2 STATUS_ACTIVE
	// volume.delete true <nil>
}

// Page iterators follow next_page_token; a list over several clouds ends
// with a *client.PartialError when a cloud did not answer.
func ExampleClient_AllServers() {
	ctx := context.Background()
	c, err := client.DialEnv(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	for i := range 3 {
		_, err := c.Compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: fmt.Sprintf("pager-%d", i),
			Flavor: "m1.tiny", Image: "cirros-0.6.2", Location: &canopyv1.Location{Cloud: "local"},
			Labels: map[string]string{"example": "pages"}, Wait: true})
		if err != nil {
			log.Fatal(err)
		}
	}
	var names []string
	for s, err := range c.AllServers(ctx, &canopyv1.ListServersRequest{PageSize: 2, Labels: map[string]string{"example": "pages"}}) {
		var partial *client.PartialError
		if errors.As(err, &partial) {
			log.Print(partial) // some clouds are missing
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		names = append(names, s.GetName()+":"+s.GetStatus().String())
	}
	fmt.Println(len(names), strings.Contains(strings.Join(names, " "), "pager-1:STATUS_ACTIVE"))
	// Output: 3 true
}

// Errors carry canopyd's google.rpc details: the fields that were wrong,
// the resource that was not found.
func ExampleFromError() {
	ctx := context.Background()
	c, err := client.DialEnv(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	_, err = c.Volumes.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "bad", SizeGib: -1})
	if e := client.FromError(err); e != nil {
		fmt.Println(e.Code)
		for _, v := range e.FieldViolations {
			fmt.Println("field:", v.GetField())
		}
	}
	_, err = c.Compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: "00000000-0000-4000-8000-000000000000"})
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code, e.Resource.GetResourceType())
	}
	// Output:
	// InvalidArgument
	// field: size_gib
	// NotFound server
}

// Objects stream in and out of canopyd; the sha256 is checked both ways.
func ExampleClient_UploadObject() {
	ctx := context.Background()
	c, err := client.DialEnv(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Objects.CreateBucket(ctx, &canopyv1.CreateBucketRequest{Name: "example-bucket", Location: &canopyv1.Location{Cloud: "local"}}); err != nil {
		log.Fatal(err)
	}
	obj, err := c.UploadObject(ctx, &canopyv1.ObjectUploadHeader{Bucket: "example-bucket", Key: "hello.txt", ContentType: "text/plain"},
		strings.NewReader("hello, canopy\n"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(obj.GetKey(), obj.GetSizeBytes())
	var buf bytes.Buffer
	if _, err := c.DownloadObject(ctx, &canopyv1.DownloadObjectRequest{Bucket: "example-bucket", Key: "hello.txt"}, &buf); err != nil {
		log.Fatal(err)
	}
	fmt.Print(buf.String())
	// Output:
	// hello.txt 14
	// hello, canopy
}
