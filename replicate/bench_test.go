package replicate

import (
	"context"
	"io"
	"math/rand/v2"
	"os/exec"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/sim"
)

// The copier's own cost, on two in-process simulators (no network): a
// 64 MiB raw image streamed by Copy (hashing it, checking it against the
// source's sha256) against a bare io.Copy from the source's reader into
// the target's writer, and Copy converting it to qcow2 through scratch
// disk. cmd/canopyd's BenchmarkReplicateOpenStackToAWS is the same
// comparison on real engines.
//
//   go test -run '^$' -bench . -benchtime 5x ./replicate/

const benchSize = 64 << 20

func benchClouds(b *testing.B) (*sim.Cloud, providers.Image, string) {
	src := sim.New(sim.Options{})
	data := make([]byte, benchSize)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(data); i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			data[i+j] = byte(v >> (8 * j))
		}
	}
	w, err := src.NewImageWriter(context.Background(), providers.ImageSpec{Name: "b", DiskFormat: "raw", Size: benchSize})
	if err != nil {
		b.Fatal(err)
	}
	_, _ = w.Write(data)
	im, err := w.Commit()
	if err != nil {
		b.Fatal(err)
	}
	return src, im, hexSum(data)
}

func BenchmarkCopyStream(b *testing.B) {
	src, im, sum := benchClouds(b)
	c := &Copier{}
	b.SetBytes(benchSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst := sim.New(sim.Options{})
		res, err := c.Copy(context.Background(), Source{Transfer: src, ID: im.NativeID, Format: "raw", SHA256: sum, Size: benchSize},
			Target{Transfer: dst, Formats: Defaults("sim"), Spec: providers.ImageSpec{Name: "b"}}, nil)
		if err != nil || res.Moved != benchSize {
			b.Fatal(res, err)
		}
	}
}

func BenchmarkBareCopy(b *testing.B) {
	src, im, _ := benchClouds(b)
	b.SetBytes(benchSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst := sim.New(sim.Options{})
		r, _, err := src.NewImageReader(context.Background(), im.NativeID)
		if err != nil {
			b.Fatal(err)
		}
		w, err := dst.NewImageWriter(context.Background(), providers.ImageSpec{Name: "b", DiskFormat: "raw", Size: benchSize})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(w, r); err != nil {
			b.Fatal(err)
		}
		r.Close()
		if _, err := w.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCopyConvertQcow2(b *testing.B) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		b.Skip("qemu-img is not installed")
	}
	src, im, sum := benchClouds(b)
	c := &Copier{Scratch: b.TempDir()}
	b.SetBytes(benchSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst := sim.New(sim.Options{})
		if _, err := c.Copy(context.Background(), Source{Transfer: src, ID: im.NativeID, Format: "raw", SHA256: sum, Size: benchSize},
			Target{Transfer: dst, Formats: Formats{Preferred: "qcow2", Accepted: []string{"qcow2"}}, Spec: providers.ImageSpec{Name: "b"}}, nil); err != nil {
			b.Fatal(err)
		}
	}
}
