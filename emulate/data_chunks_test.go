package emulate_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/emulate"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/sim"
)

// TestStoreChunks: a copy kept in canopy's store (no bucket) larger than a
// chunk is cut into records, comes back whole and checked, a corrupted
// chunk is caught by the recorded sha256, and forgetting the copy deletes
// every chunk.
func TestStoreChunks(t *testing.T) {
	ctx := context.Background()
	e, c, st := newLayer(t, sim.VolumeOptions{NoBackups: true})
	s := e.Storage()
	ready := func(id string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			v, err := s.GetVolume(ctx, id)
			if err == nil && v.Status == providers.StatusActive {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("volume %s not ready: %+v, %v", id, v, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	src, err := s.CreateVolume(ctx, providers.VolumeSpec{Name: "src", SizeGiB: 1, IdempotencyToken: "tok-src"})
	if err != nil {
		t.Fatal(err)
	}
	ready(src.NativeID)
	want := make([]byte, 9<<20+3) // two full 4 MiB chunks and a short one
	for i := range want {
		want[i] = byte(i*7 + i>>13)
	}
	if err := c.WriteVolumeData(ctx, src.NativeID, bytes.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	bak, err := s.CreateBackup(ctx, providers.BackupSpec{Name: "b", VolumeID: src.NativeID, IdempotencyToken: "tok-b"})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := e.Record(ctx, providers.KindBackup, bak.NativeID)
	sum := sha256.Sum256(want)
	if err != nil || rec.Chunks != 3 || rec.Bytes != int64(len(want)) || rec.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("record = %+v, %v; want 3 chunks, %d bytes, its sha256", rec, err, len(want))
	}
	restore := func(token string) (string, error) {
		v, err := s.RestoreBackup(ctx, bak.NativeID, providers.VolumeSpec{Name: token, IdempotencyToken: token})
		if err != nil {
			return "", err
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			got, err := s.GetVolume(ctx, v.NativeID)
			if err == nil && got.Status == providers.StatusActive || err != nil || time.Now().After(deadline) {
				return v.NativeID, err
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	id, err := restore("r1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(c.ReadVolumeData(ctx, id))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("restored %d bytes, %v; want the %d written", len(got), err, len(want))
	}

	// A chunk changed behind canopy's back: the restore fails on the sum.
	key := fmt.Sprintf("emu/%s/%s#%08d", providers.KindBackup, bak.NativeID, 1)
	if err := st.PutRecord(ctx, emulate.NSData, key, make([]byte, 4<<20)); err != nil {
		t.Fatal(err)
	}
	v2, err := s.RestoreBackup(ctx, bak.NativeID, providers.VolumeSpec{Name: "r2", IdempotencyToken: "r2"})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err == nil {
			_, err = s.GetVolume(ctx, v2.NativeID)
		}
		if errors.Is(err, providers.ErrIntegrity) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restore of a corrupted copy: last read %v; want ErrIntegrity", err)
		}
		time.Sleep(5 * time.Millisecond)
		err = nil
	}

	if err := s.DeleteBackup(ctx, bak.NativeID); err != nil {
		t.Fatal(err)
	}
	left, err := st.ListRecords(ctx, emulate.NSData, "emu/")
	if err != nil || len(left) != 0 {
		t.Errorf("after delete: %d data records left, %v", len(left), err)
	}
}
