package providertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// What the runtime does with a container on its own (exit, auto-remove,
// restart policies), deletes, what it refuses (the state table) and what a
// replayed create finds.

func (cs *ctrSuite) testDelete(t *testing.T) {
	ctx := context.Background()
	id := cs.running(t, cs.spec(t, "del", "sleep", "300")).NativeID
	if err := cs.ct.DeleteContainer(ctx, id, false); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("DeleteContainer(running, no force): err = %v, want ErrConflict", err)
	}
	if c := cs.get(t, id); c.State != providers.ContainerRunning {
		t.Errorf("after a refused delete: state %v, want RUNNING", c.State)
	}
	if err := cs.ct.DeleteContainer(ctx, id, true); err != nil {
		t.Fatalf("DeleteContainer(running, force): %v", err)
	}
	poll(t, cs.suite, "container "+id+" gone", func() (providers.Container, error) { return cs.ct.GetContainer(ctx, id) }, gone[providers.Container])
	if err := cs.ct.DeleteContainer(ctx, id, true); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("DeleteContainer twice: err = %v, want ErrNotFound", err)
	}
	created := cs.create(t, cs.spec(t, "delc", "sleep", "300")).NativeID
	if err := cs.ct.DeleteContainer(ctx, created, false); err != nil {
		t.Fatalf("DeleteContainer(created, no force): %v", err)
	}
	poll(t, cs.suite, "container "+created+" gone", func() (providers.Container, error) { return cs.ct.GetContainer(ctx, created) }, gone[providers.Container])
	list, err := cs.ct.ListContainers(ctx)
	if err != nil {
		t.Fatalf("ListContainers: %v", err)
	}
	for _, c := range list {
		if c.NativeID == id || c.NativeID == created {
			t.Errorf("ListContainers still lists deleted %s", c.NativeID)
		}
	}
}

func (cs *ctrSuite) testExitsByItself(t *testing.T) {
	c := cs.run(t, cs.spec(t, "exit3", "sh", "-c", "exit 3"))
	c = cs.wait(t, c.NativeID, "exited with 3", exited(3))
	if c.FinishedAt.IsZero() || c.FinishedAt.Before(c.StartedAt) || c.StartedAt.IsZero() {
		t.Errorf("exited: StartedAt %v FinishedAt %v, want both, the finish after the start", c.StartedAt, c.FinishedAt)
	}
	if c.RestartCount != 0 {
		t.Errorf("RestartCount = %d without a restart policy, want 0", c.RestartCount)
	}
}

func (cs *ctrSuite) testAutoRemove(t *testing.T) {
	ctx := context.Background()
	spec := cs.spec(t, "autorm", "sh", "-c", "exit 0")
	spec.AutoRemove = true
	c := cs.create(t, spec)
	if !cs.get(t, c.NativeID).AutoRemove {
		t.Errorf("AutoRemove not reported")
	}
	if err := cs.ct.StartContainer(ctx, c.NativeID); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	poll(t, cs.suite, "container "+c.NativeID+" removed after it exited", func() (providers.Container, error) {
		return cs.ct.GetContainer(ctx, c.NativeID)
	}, gone[providers.Container])
}

func (cs *ctrSuite) testRestartPolicy(t *testing.T) {
	cs.need(t, UnsupportedRestartPolicy)
	spec := cs.spec(t, "onfail", "sh", "-c", "exit 1")
	spec.RestartPolicy = providers.RestartPolicy{Name: "on-failure", MaxRetries: 2}
	c := cs.run(t, spec)
	cs.wait(t, c.NativeID, "exited with 1 after 2 restarts", func(c providers.Container) bool {
		return exited(1)(c) && c.RestartCount == 2
	})
}

// testStateTable checks that actions in states the table does not allow
// wrap ErrConflict and change nothing.
func (cs *ctrSuite) testStateTable(t *testing.T) {
	ctx := context.Background()
	ids := map[providers.ContainerState]string{
		providers.ContainerCreated: cs.create(t, cs.spec(t, "tcreated", "sleep", "300")).NativeID,
		providers.ContainerRunning: cs.running(t, cs.spec(t, "trunning", "sleep", "300")).NativeID,
	}
	stopped := cs.run(t, cs.spec(t, "tstopped", "sh", "-c", "exit 0")).NativeID
	cs.wait(t, stopped, "exited", exited(0))
	ids[providers.ContainerStopped] = stopped
	if cs.supports(UnsupportedPause) {
		paused := cs.running(t, cs.spec(t, "tpaused", "sleep", "300")).NativeID
		if err := cs.ct.PauseContainer(ctx, paused); err != nil {
			t.Fatalf("PauseContainer: %v", err)
		}
		cs.wait(t, paused, "paused", stateIs(providers.ContainerPaused))
		ids[providers.ContainerPaused] = paused
	}
	type call func(id string) error
	start := func(id string) error { return cs.ct.StartContainer(ctx, id) }
	stop := func(id string) error { return cs.ct.StopContainer(ctx, id, time.Second) }
	pause := func(id string) error { return cs.ct.PauseContainer(ctx, id) }
	unpause := func(id string) error { return cs.ct.UnpauseContainer(ctx, id) }
	kill := func(id string) error { return cs.ct.KillContainer(ctx, id, "KILL") }
	del := func(id string) error { return cs.ct.DeleteContainer(ctx, id, false) }
	cases := []struct {
		action string
		state  providers.ContainerState
		call   call
	}{
		{providers.ActStart, providers.ContainerRunning, start},
		{providers.ActStart, providers.ContainerPaused, start},
		{providers.ActStop, providers.ContainerCreated, stop},
		{providers.ActStop, providers.ContainerStopped, stop},
		{providers.ActPause, providers.ContainerCreated, pause},
		{providers.ActPause, providers.ContainerStopped, pause},
		{providers.ActPause, providers.ContainerPaused, pause},
		{providers.ActUnpause, providers.ContainerRunning, unpause},
		{providers.ActUnpause, providers.ContainerStopped, unpause},
		{providers.ActKill, providers.ContainerCreated, kill},
		{providers.ActKill, providers.ContainerStopped, kill},
		{providers.ActDelete, providers.ContainerRunning, del},
		{providers.ActDelete, providers.ContainerPaused, del},
	}
	if cs.io != nil {
		exec := func(id string) error {
			x, err := cs.io.ExecContainer(ctx, id, providers.ExecSpec{Cmd: []string{"true"}})
			if err == nil {
				_ = x.Close()
			}
			return err
		}
		top := func(id string) error { _, err := cs.io.ContainerTop(ctx, id, nil); return err }
		stats := func(id string) error { _, err := cs.io.ContainerStats(ctx, id); return err }
		cases = append(cases, []struct {
			action string
			state  providers.ContainerState
			call   call
		}{
			{providers.ActExec, providers.ContainerCreated, exec},
			{providers.ActExec, providers.ContainerStopped, exec},
			{providers.ActExec, providers.ContainerPaused, exec},
			{providers.ActTop, providers.ContainerCreated, top},
			{providers.ActTop, providers.ContainerStopped, top},
			{providers.ActStats, providers.ContainerCreated, stats},
			{providers.ActStats, providers.ContainerStopped, stats},
		}...)
	}
	for _, tc := range cases {
		t.Run(tc.action+" "+tc.state.String(), func(t *testing.T) {
			if providers.ContainerAllowed(tc.action, tc.state) == nil {
				t.Fatalf("the state table allows %s when %v: the case is wrong", tc.action, tc.state)
			}
			id, ok := ids[tc.state]
			if !ok {
				t.Skipf("no %v container (runtime lacks pause)", tc.state)
			}
			if err := tc.call(id); !errors.Is(err, providers.ErrConflict) {
				t.Errorf("%s when %v: err = %v, want ErrConflict", tc.action, tc.state, err)
			}
			if c := cs.get(t, id); c.State != tc.state {
				t.Errorf("after a refused %s: state %v, want %v still", tc.action, c.State, tc.state)
			}
		})
	}
}

// testReplay: a replayed create finds what the first attempt made.
func (cs *ctrSuite) testReplay(t *testing.T) {
	ctx := context.Background()
	spec := cs.spec(t, "replay", "sleep", "300")
	first := cs.create(t, spec)
	spec.Replay = true
	again, err := cs.ct.CreateContainer(ctx, spec)
	if err != nil {
		t.Fatalf("CreateContainer(replay): %v", err)
	}
	if again.NativeID != first.NativeID {
		t.Cleanup(func() { cs.remove(t, again.NativeID) })
		t.Errorf("replayed create = %s, want the first attempt's %s", again.NativeID, first.NativeID)
	}
	list, err := cs.ct.ListContainers(ctx)
	if err != nil {
		t.Fatalf("ListContainers: %v", err)
	}
	var withToken []string
	for _, c := range list {
		if c.Token == spec.IdempotencyToken {
			withToken = append(withToken, c.NativeID)
		}
	}
	if len(withToken) != 1 {
		t.Errorf("containers with token %s: %v, want exactly %s", spec.IdempotencyToken, withToken, first.NativeID)
	}
	// A replay whose first attempt never reached the runtime creates.
	fresh := cs.spec(t, "replay2", "sleep", "300")
	fresh.Replay = true
	c := cs.create(t, fresh)
	if c.NativeID == "" || c.NativeID == first.NativeID || c.Token != fresh.IdempotencyToken {
		t.Errorf("replayed create of a new token = %s (token %s), want a new container with token %s", c.NativeID, c.Token, fresh.IdempotencyToken)
	}
}
