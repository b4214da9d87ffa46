package openstack

import (
	"context"
	"errors"
	"testing"
	"time"
)

type fakeRes struct {
	id, token, status string
	at                time.Time
}

func fakeKind(deleted *[]string) cinderKind[fakeRes] {
	return cinderKind[fakeRes]{
		token:   func(r fakeRes) string { return r.token },
		status:  func(r fakeRes) string { return r.status },
		created: func(r fakeRes) time.Time { return r.at },
		id:      func(r fakeRes) string { return r.id },
		norm:    volumeStatus,
		get:     func(context.Context, string) (string, error) { return "available", nil },
		del: func(_ context.Context, id string) error {
			*deleted = append(*deleted, id)
			return nil
		},
	}
}

func TestCinderKindPick(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	k := fakeKind(new([]string))
	for _, tc := range []struct {
		name string
		list []fakeRes
		want string // "" for none
	}{
		{"none", nil, ""},
		{"a stranger's token is never taken", []fakeRes{{id: "a", token: "other", status: "available", at: t0}}, ""},
		{"oldest wins", []fakeRes{{id: "b", token: "tv", status: "available", at: t0.Add(time.Second)}, {id: "c", token: "tv", status: "creating", at: t0}}, "c"},
		{"same time: smallest id", []fakeRes{{id: "z", token: "tv", status: "available", at: t0}, {id: "y", token: "tv", status: "available", at: t0}}, "y"},
		{"one being deleted does not win", []fakeRes{{id: "d", token: "tv", status: "deleting", at: t0}, {id: "e", token: "tv", status: "available", at: t0.Add(time.Hour)}}, "e"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := k.pick(tc.list, "tv")
			if ok != (tc.want != "") || got.id != tc.want {
				t.Errorf("pick = %q, %v; want %q", got.id, ok, tc.want)
			}
		})
	}
}

func TestCinderKindSettle(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()
	mine := fakeRes{id: "mine", token: "tv", status: "creating", at: t0.Add(time.Second)}
	theirs := fakeRes{id: "theirs", token: "tv", status: "available", at: t0}

	var deleted []string
	k := fakeKind(&deleted)
	got := k.settle(ctx, func(context.Context) ([]fakeRes, error) { return []fakeRes{theirs}, nil }, mine, "tv")
	if got.id != "theirs" || len(deleted) != 1 || deleted[0] != "mine" {
		t.Errorf("a racing older create: got %q, deleted %v; want theirs, [mine]", got.id, deleted)
	}

	deleted = nil
	got = k.settle(ctx, func(context.Context) ([]fakeRes, error) { return []fakeRes{mine}, nil }, mine, "tv")
	if got.id != "mine" || len(deleted) != 0 {
		t.Errorf("alone: got %q, deleted %v; want mine, none", got.id, deleted)
	}

	got = k.settle(ctx, func(context.Context) ([]fakeRes, error) { return nil, errors.New("cinder down") }, mine, "tv")
	if got.id != "mine" || len(deleted) != 0 {
		t.Errorf("failed list: got %q, deleted %v; want mine kept", got.id, deleted)
	}

	listed := false
	got = k.settle(ctx, func(context.Context) ([]fakeRes, error) { listed = true; return []fakeRes{theirs}, nil }, fakeRes{id: "x"}, "")
	if got.id != "x" || listed {
		t.Errorf("no token: got %q, listed %v; want x without a list", got.id, listed)
	}
}
