package main

import (
	"strings"
	"testing"
)

// ctrImage is the busybox every simulated container host has.
const ctrImage = "canopy-test/busybox:latest"

// TestContainerLifecycle drives `canopy container` through a container's
// life on the simulator's container host: run, ls, logs, exec, stats, top,
// pause, update, rename, stop, wait, rm.
func TestContainerLifecycle(t *testing.T) {
	addr := startCanopyd(t, fastLocal)

	r := ok(t, addr, "container", "run", "--name", "web", "-l", "app=shop", "-e", "GREETING=hi", "-m", "64m", "--request-id", "run-web",
		ctrImage, "sh", "-c", "echo $GREETING; echo oops >&2; sleep 3600")
	id := strings.TrimSpace(r.stdout)
	if id == "" || strings.Contains(id, "\n") {
		t.Fatalf("run printed %q, want the id", r.stdout)
	}
	// The same request id: the same container, nothing new.
	if again := ok(t, addr, "container", "run", "--name", "web", "-l", "app=shop", "-e", "GREETING=hi", "-m", "64m", "--request-id", "run-web",
		ctrImage, "sh", "-c", "echo $GREETING; echo oops >&2; sleep 3600"); strings.TrimSpace(again.stdout) != id {
		t.Errorf("replayed run printed %q, want %s", again.stdout, id)
	}
	ok(t, addr, "container", "create", "--name", "idle", ctrImage, "true")

	// ls shows running containers; -a the created one too.
	r = ok(t, addr, "container", "ls")
	if tableRow(r.stdout, id, "web", ctrImage, "running", "local", "sim-host") == "" || strings.Contains(r.stdout, "idle") {
		t.Errorf("container ls:\n%s", r.stdout)
	}
	r = ok(t, addr, "container", "ps", "-a", "--filter", "status=created")
	if tableRow(r.stdout, "idle", "created") == "" || strings.Contains(r.stdout, "web") {
		t.Errorf("container ps -a --filter status=created:\n%s", r.stdout)
	}
	if r = ok(t, addr, "container", "ls", "-aq", "--filter", "label=app=shop"); strings.TrimSpace(r.stdout) != id {
		t.Errorf("container ls -aq --filter label=app=shop: %q", r.stdout)
	}
	if r = ok(t, addr, "container", "ls", "-aq", "--filter", "label=app"); strings.TrimSpace(r.stdout) != id {
		t.Errorf("container ls -aq --filter label=app: %q", r.stdout)
	}
	c := jsonOf(t, ok(t, addr, "container", "inspect", "web", "-o", "json"))
	if c["id"] != id || c["state"] != "STATE_RUNNING" || c["memory_mib"] != "64" || c["ready"] != true {
		t.Errorf("inspect -o json: %v", c)
	}
	r = ok(t, addr, "container", "inspect", id)
	for _, want := range []string{"Name:", "web", "running", "64 MiB", "app=shop", `sh -c "echo $GREETING; echo oops >&2; sleep 3600"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("inspect does not show %q:\n%s", want, r.stdout)
		}
	}

	// logs: stdout on stdout, stderr on stderr.
	r = ok(t, addr, "container", "logs", "web")
	if r.stdout != "hi\n" || r.stderr != "oops\n" {
		t.Errorf("logs: stdout %q, stderr %q", r.stdout, r.stderr)
	}
	if r = ok(t, addr, "container", "logs", "-t", "--tail", "1", "web"); !strings.HasSuffix(r.stdout, "Z hi\n") || !strings.HasPrefix(r.stdout, "20") {
		t.Errorf("logs -t --tail 1: stdout %q", r.stdout)
	}

	// exec: output, stdin, environment, and the process's exit code as
	// canopy's own.
	if r = ok(t, addr, "container", "exec", "web", "echo", "hello", "world"); r.stdout != "hello world\n" {
		t.Errorf("exec echo: %q", r.stdout)
	}
	if r = cliIn(t, addr, "piped in\n", "container", "exec", "-i", "web", "cat"); r.code != 0 || r.stdout != "piped in\n" {
		t.Errorf("exec -i cat: exit %d, %q, %q", r.code, r.stdout, r.stderr)
	}
	if r = ok(t, addr, "container", "exec", "-e", "WHO=canopy", "-w", "/tmp", "web", "sh", "-c", "echo $WHO >&2; pwd"); r.stderr != "canopy\n" || r.stdout != "/tmp\n" {
		t.Errorf("exec -e -w: stdout %q, stderr %q", r.stdout, r.stderr)
	}
	if r = cli(t, addr, "container", "exec", "web", "sh", "-c", "echo failing; exit 3"); r.code != 3 || r.stdout != "failing\n" || r.stderr != "" {
		t.Errorf("exec exit 3: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r = cli(t, addr, "container", "exec", "-t", "web", "echo", "on a tty"); r.code != 0 || !strings.Contains(r.stdout, "on a tty") {
		t.Errorf("exec -t: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r = cli(t, addr, "container", "exec", "web", "nosuchprogram"); r.code != 127 {
		t.Errorf("exec of a missing program: exit %d, want 127 (stderr %q)", r.code, r.stderr)
	}

	r = ok(t, addr, "container", "stats", "web")
	if tableRow(r.stdout, id, "web", "%", "/ 64.0 MiB") == "" {
		t.Errorf("stats:\n%s", r.stdout)
	}
	if s := jsonOf(t, ok(t, addr, "container", "stats", "--no-stream", "web", "-o", "json")); s["id"] != id || s["memory_limit_bytes"] != "67108864" {
		t.Errorf("stats -o json: %v", s)
	}
	r = ok(t, addr, "container", "stats") // every running one
	if tableRow(r.stdout, id, "web") == "" {
		t.Errorf("stats of every running container:\n%s", r.stdout)
	}
	if r = ok(t, addr, "container", "top", "web"); tableRow(r.stdout, "PID", "CMD") == "" || tableRow(r.stdout, "sleep 3600") == "" {
		t.Errorf("top:\n%s", r.stdout)
	}

	// Pause, update, rename, kill with a signal the shell ignores.
	if r = ok(t, addr, "container", "pause", "web"); tableRow(r.stdout, "web", "paused") == "" {
		t.Errorf("pause:\n%s", r.stdout)
	}
	fails(t, addr, 1, []string{"container", "exec", "web", "true"}, "FAILED_PRECONDITION", "PAUSED")
	ok(t, addr, "container", "unpause", "web")
	if c = jsonOf(t, ok(t, addr, "container", "update", "-m", "128m", "--cpus", "0.5", "--restart", "on-failure:2", "web", "-o", "json")); c["memory_mib"] != "128" || c["cpu"] != 0.5 {
		t.Errorf("update: %v", c)
	}
	if r = ok(t, addr, "container", "inspect", "web"); !strings.Contains(r.stdout, "on-failure:2") || !strings.Contains(r.stdout, "128 MiB") {
		t.Errorf("inspect after update:\n%s", r.stdout)
	}
	if r = ok(t, addr, "container", "rename", "web", "shop"); tableRow(r.stdout, id, "shop") == "" {
		t.Errorf("rename:\n%s", r.stdout)
	}
	// (By id from here: canopyd's view of the new name follows the
	// runtime's rename event, which a name lookup at once may precede.)
	ok(t, addr, "container", "kill", "-s", "HUP", id)
	fails(t, addr, 1, []string{"container", "kill", "-s", "NOPE", id}, "INVALID_ARGUMENT", "signal")

	// stop: SIGTERM is ignored by a shell as PID 1, so -t 0 kills at once.
	if r = ok(t, addr, "container", "stop", "-t", "0", id); tableRow(r.stdout, id, "shop", "stopped (137)") == "" {
		t.Errorf("stop:\n%s", r.stdout)
	}
	if r = ok(t, addr, "container", "wait", id); r.stdout != "137\n" {
		t.Errorf("wait: %q, want 137", r.stdout)
	}
	if r = ok(t, addr, "container", "ls"); strings.Contains(r.stdout, id) {
		t.Errorf("ls shows a stopped container:\n%s", r.stdout)
	}
	if r = ok(t, addr, "container", "ls", "-a"); tableRow(r.stdout, id, "stopped (137)") == "" {
		t.Errorf("ls -a:\n%s", r.stdout)
	}
	ok(t, addr, "container", "start", id)
	fails(t, addr, 1, []string{"container", "rm", id}, "FAILED_PRECONDITION", "running", "force")
	r = ok(t, addr, "container", "rm", "-f", "shop", "idle")
	if tableRow(r.stdout, id) == "" || tableRow(r.stdout, "idle") == "" {
		t.Errorf("rm -f shop idle:\n%s", r.stdout)
	}
	fails(t, addr, 1, []string{"container", "inspect", id}, "NOT_FOUND", id)
}

// TestContainerRunAttach: run -a prints the container's output as it
// comes and exits with its exit code, also with --rm.
func TestContainerRunAttach(t *testing.T) {
	addr := startCanopyd(t, fastLocal)
	r := cli(t, addr, "container", "run", "-a", "--name", "job", ctrImage, "sh", "-c", "echo out; echo err >&2; exit 4")
	if r.code != 4 || r.stdout != "out\n" || r.stderr != "err\n" {
		t.Errorf("run -a: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r = ok(t, addr, "container", "ls", "-a"); tableRow(r.stdout, "job", "stopped (4)") == "" {
		t.Errorf("ls -a after run -a:\n%s", r.stdout)
	}
	// -d: the create operation goes on; once it is done the container runs.
	op := jsonOf(t, ok(t, addr, "container", "run", "-o", "json", "-d", "--name", "bg", ctrImage, "sleep", "3600"))
	if md, _ := op["metadata"].(map[string]any); md["kind"] != "container.create" {
		t.Fatalf("run -d -o json: %v", op)
	}
	ok(t, addr, "operation", "wait", op["id"].(string))
	if r = ok(t, addr, "container", "wait", "--condition", "running", "bg"); tableRow(r.stdout, "bg", "running") == "" {
		t.Errorf("wait --condition running:\n%s", r.stdout)
	}
}

// TestContainerDependenciesAndHealth: --depends-on waits for the
// dependency, --health-cmd makes the run wait until healthy, and watch
// shows the containers.
func TestContainerDependenciesAndHealth(t *testing.T) {
	addr := startCanopyd(t, fastLocal)
	r := ok(t, addr, "container", "run", "--name", "db", "--health-cmd", "true", "--health-interval", "100ms", ctrImage, "sleep", "3600")
	db := strings.TrimSpace(r.stdout)
	if r = ok(t, addr, "container", "ls"); tableRow(r.stdout, db, "db", "running", "healthy") == "" {
		t.Errorf("ls after run --health-cmd:\n%s", r.stdout)
	}
	ok(t, addr, "container", "run", "-a", "--name", "migrate", ctrImage, "echo", "migrated")
	// Flags after the image are the command's: -o goes before it.
	c := jsonOf(t, ok(t, addr, "container", "run", "-o", "json", "--name", "app", "--depends-on", "db:healthy", "--depends-on", "migrate:completed",
		"--ready-cmd", "true", ctrImage, "sleep", "3600"))
	if c["state"] != "STATE_RUNNING" || c["ready"] != true {
		t.Errorf("run --depends-on: %v", c)
	}
	if r = ok(t, addr, "container", "inspect", "app"); !strings.Contains(r.stdout, ":healthy") || !strings.Contains(r.stdout, ":completed") {
		t.Errorf("inspect shows no dependencies:\n%s", r.stdout)
	}
	ok(t, addr, "container", "wait", "--condition", "ready", "app")

	r = ok(t, addr, "container", "watch", "--count", "4")
	for _, want := range []string{"added", "synced", "app", "db", "healthy"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("watch does not show %q:\n%s", want, r.stdout)
		}
	}
	r = ok(t, addr, "container", "commit", "-m", "snapshot", "db", "db-image:v1")
	if !strings.Contains(r.stdout, "db-image:v1") {
		t.Errorf("commit:\n%s", r.stdout)
	}
	if r = ok(t, addr, "container", "run", "-a", "db-image:v1", "echo", "from the commit"); r.stdout != "from the commit\n" {
		t.Errorf("run of the committed image: %q", r.stdout)
	}
}

// TestContainerErrors: canopyd's errors print with their code and field.
func TestContainerErrors(t *testing.T) {
	addr := startCanopyd(t, fastLocal)
	fails(t, addr, 1, []string{"container", "inspect", "ghost"}, "NOT_FOUND", `"ghost"`)
	fails(t, addr, 1, []string{"container", "logs", "ghost"}, "NOT_FOUND", `"ghost"`)
	fails(t, addr, 1, []string{"container", "exec", "ghost", "true"}, "NOT_FOUND", `"ghost"`)
	fails(t, addr, 1, []string{"container", "stop", "ghost"}, "NOT_FOUND")
	fails(t, addr, 2, []string{"container", "run", "-m", "lots", ctrImage}, `--memory "lots"`)
	fails(t, addr, 1, []string{"container", "run", "-m", "2", ctrImage}, "INVALID_ARGUMENT", "field memory_mib")
	fails(t, addr, 1, []string{"container", "run", "--name", "bad name", ctrImage}, "INVALID_ARGUMENT", "field name")
	ok(t, addr, "container", "create", "--name", "taken", ctrImage, "true")
	fails(t, addr, 1, []string{"container", "create", "--name", "taken", ctrImage, "true"}, "ALREADY_EXISTS")
	// One failure among several: printed, the others proceed, exit 1.
	r := fails(t, addr, 1, []string{"container", "rm", "ghost", "taken"}, "ghost: NOT_FOUND")
	if tableRow(r.stdout, "taken") == "" {
		t.Errorf("rm ghost taken did not remove taken:\n%s", r.stdout)
	}
}
