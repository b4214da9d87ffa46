package router

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
)

func threeClouds() []*Cloud { return []*Cloud{{Name: "east"}, {Name: "slow"}, {Name: "west"}} }

// A cloud that does not answer by the caller's deadline is named in a
// partial answer that reaches the caller before its deadline, with what
// the others returned; even when the slow call ignores its context.
func TestFanOutAnswersBeforeTheDeadline(t *testing.T) {
	for _, ignoresCtx := range []bool{false, true} {
		stuck := make(chan struct{})
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		items, errs := FanOut(ctx, threeClouds(), func(ctx context.Context, cl *Cloud) ([]string, error) {
			if cl.Name != "slow" {
				return []string{cl.Name}, nil
			}
			if ignoresCtx {
				<-stuck
				return []string{"late"}, nil
			}
			<-ctx.Done()
			return nil, ctx.Err()
		})
		if ctx.Err() != nil {
			t.Errorf("ignoresCtx=%v: FanOut returned after the caller's deadline", ignoresCtx)
		}
		cancel()
		close(stuck)
		slices.Sort(items)
		if !slices.Equal(items, []string{"east", "west"}) {
			t.Errorf("ignoresCtx=%v: items %v, want east and west", ignoresCtx, items)
		}
		if len(errs) != 1 || errs[0].Cloud != "slow" || codes.Code(errs[0].Code) != codes.DeadlineExceeded {
			t.Fatalf("ignoresCtx=%v: cloud errors %v, want slow: DEADLINE_EXCEEDED", ignoresCtx, errs)
		}
		if got := Unreachable(errs); !slices.Equal(got, []string{"slow"}) {
			t.Errorf("Unreachable = %v", got)
		}
	}
}

// Without a deadline a fan-out waits for every cloud, and a cloud's error
// keeps its code.
func TestFanOutWithoutDeadlineWaitsForAll(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 3)
	go func() {
		for i := 0; i < 3; i++ {
			<-started
		}
		close(release)
	}()
	items, errs := FanOut(context.Background(), threeClouds(), func(ctx context.Context, cl *Cloud) ([]string, error) {
		started <- struct{}{}
		<-release
		if cl.Name == "west" {
			return nil, CloudErr("west", "ListServers", providers.ErrUnavailable)
		}
		return []string{cl.Name}, nil
	})
	slices.Sort(items)
	if !slices.Equal(items, []string{"east", "slow"}) {
		t.Errorf("items %v", items)
	}
	want := []*canopyv1.CloudError{{Cloud: "west", Code: int32(codes.Unavailable)}}
	if len(errs) != 1 || errs[0].Cloud != want[0].Cloud || errs[0].Code != want[0].Code {
		t.Errorf("cloud errors %v, want %v", errs, want)
	}
}

func TestAnswerMargin(t *testing.T) {
	for _, tc := range []struct{ left, want time.Duration }{
		{50 * time.Millisecond, 20 * time.Millisecond},
		{500 * time.Millisecond, 50 * time.Millisecond},
		{2 * time.Second, 200 * time.Millisecond},
		{time.Hour, 500 * time.Millisecond},
		{-time.Second, 20 * time.Millisecond},
	} {
		if got := answerMargin(tc.left); got != tc.want {
			t.Errorf("answerMargin(%s) = %s, want %s", tc.left, got, tc.want)
		}
	}
	if Unreachable(nil) != nil {
		t.Error("Unreachable(nil) is not nil")
	}
}
