package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// What comes out of a container: logs, stats, processes, an image of it,
// and its changes.

func (a containerCmds) logsCmd() *cobra.Command {
	var (
		follow, timestamps bool
		since, tail        string
	)
	cmd := &cobra.Command{
		Use:   "logs CONTAINER",
		Short: "Print a container's output",
		Long: `Print a container's output: what it wrote to stdout on stdout, what it wrote
to stderr on stderr. With -f, keep printing new output until the container
exits or Ctrl-C (which ends the command normally, exit 0).`,
		Example: "  canopy container logs web\n  canopy container logs -f --since 10m --tail 100 web\n  canopy container logs -t job 2>/dev/null",
		Args:    args(1, 1, "one CONTAINER (id or name)"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			req := &canopyv1.ContainerLogsRequest{Id: args[0], Follow: follow, Timestamps: timestamps}
			var err error
			if since != "" {
				t, err := parseSince("since", since, time.Now())
				if err != nil {
					return err
				}
				req.Since = timestamppb.New(t)
			}
			if req.Tail, err = parseTail("tail", tail); err != nil {
				return err
			}
			c, err := a.containers(cmd.Context())
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if !follow {
				var cancel context.CancelFunc
				ctx, cancel = a.rpcCtx(ctx, false)
				defer cancel()
			}
			return a.streamLogs(ctx, c, req)
		}),
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new output until it exits or Ctrl-C")
	cmd.Flags().StringVar(&since, "since", "", "only output after this: a duration back from now (10m) or a time (RFC 3339)")
	cmd.Flags().StringVarP(&tail, "tail", "n", "all", "only the last N lines (all: everything)")
	cmd.Flags().BoolVarP(&timestamps, "timestamps", "t", false, "start each line with the time it was written")
	return cmd
}

// streamLogs copies a container's output: stdout to stdout, stderr to
// stderr. The stream ending because ctx ended (Ctrl-C) is a normal end.
func (a containerCmds) streamLogs(ctx context.Context, c canopyv1.ContainerServiceClient, req *canopyv1.ContainerLogsRequest) error {
	stream, err := c.ContainerLogs(ctx, req)
	if err != nil {
		return err
	}
	// A chunk need not end a line: the time goes only where a line begins.
	lineStart := map[canopyv1.ContainerLogsResponse_Stream]bool{}
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil && status.Code(err) != codes.DeadlineExceeded {
				return nil
			}
			return err
		}
		w := a.stdout
		if m.GetStream() == canopyv1.ContainerLogsResponse_STREAM_STDERR {
			w = a.stderr
		}
		data := m.GetData()
		if req.GetTimestamps() && m.Time != nil {
			if start, seen := lineStart[m.GetStream()]; start || !seen {
				fmt.Fprint(w, m.GetTime().AsTime().Format(time.RFC3339Nano)+" ")
			}
			lineStart[m.GetStream()] = len(data) > 0 && data[len(data)-1] == '\n'
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
}

func (a containerCmds) statsCmd() *cobra.Command {
	var (
		stream, noStream bool
		interval         time.Duration
	)
	cmd := &cobra.Command{
		Use:   "stats [CONTAINER...]",
		Short: "Show containers' CPU, memory, network and disk use",
		Long: `Show containers' resource use: one sample of each named container (of every
running one when none is named). With --stream, one line per container per
--interval until Ctrl-C or the containers stop. --no-stream is accepted
for docker's sake: one sample is the default.

With -o json each sample is one JSON object per line (one container without
--stream: the object alone); with -o yaml, one YAML document per sample.`,
		Example: "  canopy container stats\n  canopy container stats --stream web db",
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			if stream && noStream {
				return usageErrorf("--stream and --no-stream: pick one")
			}
			names, err := a.containerNames(cmd.Context(), args)
			if err != nil {
				return err
			}
			if len(args) == 0 {
				for id := range names {
					args = append(args, id)
				}
				sortByName(args, names)
			}
			c, err := a.containers(cmd.Context())
			if err != nil {
				return err
			}
			if stream {
				return a.streamStats(cmd.Context(), c, args, names, interval)
			}
			return a.sampleStats(cmd.Context(), c, args, names)
		}),
	}
	cmd.Flags().BoolVar(&stream, "stream", false, "keep sampling until Ctrl-C")
	cmd.Flags().BoolVar(&noStream, "no-stream", false, "one sample (the default; for docker's sake)")
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "between samples, with --stream (at least 1s)")
	return cmd
}

// containerNames maps canopy ids to names, for the NAME column: the
// running containers when none is named, else every container (one list;
// on an error with named containers the column stays empty).
func (a containerCmds) containerNames(ctx context.Context, named []string) (map[string]string, error) {
	req := &canopyv1.ListContainersRequest{}
	if len(named) == 0 {
		req.State = canopyv1.Container_STATE_RUNNING
	}
	cs, errs, err := a.listContainers(ctx, 0, req)
	if err != nil {
		if len(named) > 0 {
			return nil, nil
		}
		return nil, err
	}
	if len(named) == 0 {
		a.warnCloudErrors(errs)
	}
	names := make(map[string]string, len(cs))
	for _, c := range cs {
		names[c.GetId()] = c.GetName()
	}
	return names, nil
}

func sortByName(ids []string, names map[string]string) {
	sort.Slice(ids, func(i, j int) bool {
		if names[ids[i]] != names[ids[j]] {
			return names[ids[i]] < names[ids[j]]
		}
		return ids[i] < ids[j]
	})
}

// sampleStats takes one sample of each container concurrently (a sample
// may take a second: CPU use needs two readings).
func (a containerCmds) sampleStats(ctx context.Context, c canopyv1.ContainerServiceClient, ids []string, names map[string]string) error {
	out, errs := forEach(len(ids), func(i int) (*canopyv1.ContainerStats, error) {
		rctx, cancel := a.rpcCtx(ctx, false)
		defer cancel()
		return c.GetContainerStats(rctx, &canopyv1.GetContainerStatsRequest{Id: ids[i]})
	})
	if len(ids) == 1 {
		if errs[0] != nil {
			return errs[0]
		}
		return a.emit(out[0], func(w io.Writer) { statsRows(w, out, names) })
	}
	var ok []*canopyv1.ContainerStats
	failed := false
	for i, id := range ids {
		if errs[i] != nil {
			a.printError(id, errs[i])
			failed = true
			continue
		}
		ok = append(ok, out[i])
	}
	if a.output == "table" {
		if len(ok) > 0 || len(ids) == 0 {
			if err := a.emit(nil, func(w io.Writer) { statsRows(w, ok, names) }); err != nil {
				return err
			}
		}
	} else {
		for _, s := range ok {
			if err := a.emitDoc(s); err != nil {
				return err
			}
		}
	}
	if failed {
		return errReported
	}
	return nil
}

// statsFormat is the row of a streamed stats table (fixed widths: rows
// come one at a time).
const statsFormat = "%-36s  %-20s  %7s  %-24s  %6s  %-20s  %-20s  %s\n"

var statsHeader = []string{"ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"}

// streamStats prints samples of every container as they come, until
// Ctrl-C or every stream ended (the containers stopped).
func (a containerCmds) streamStats(ctx context.Context, c canopyv1.ContainerServiceClient, ids []string, names map[string]string, interval time.Duration) error {
	if interval < time.Second {
		return usageErrorf("--interval %s: at least 1s", interval)
	}
	var mu sync.Mutex
	if a.output == "table" {
		fmt.Fprintf(a.stdout, statsFormat, toAny(statsHeader)...)
	}
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := c.StreamContainerStats(ctx, &canopyv1.StreamContainerStatsRequest{Id: id, Interval: durationpb.New(interval)})
			for err == nil {
				var s *canopyv1.ContainerStats
				if s, err = st.Recv(); err != nil {
					break
				}
				mu.Lock()
				if a.output == "table" {
					fmt.Fprintf(a.stdout, statsFormat, toAny(statsRow(s, names))...)
				} else {
					err = a.emitDoc(s)
				}
				mu.Unlock()
			}
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	if len(ids) == 1 && errs[0] != nil {
		return errs[0]
	}
	failed := false
	for i, err := range errs {
		if err != nil {
			a.printError(ids[i], err)
			failed = true
		}
	}
	if failed {
		return errReported
	}
	return nil
}

// emitDoc prints one message of a stream: a JSON line or a YAML document.
func (a *app) emitDoc(m proto.Message) error {
	if a.output == "yaml" {
		fmt.Fprintln(a.stdout, "---")
		return a.emit(m, nil)
	}
	raw, err := jsonOpts.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "%s\n", raw)
	return err
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		if s == "" {
			s = "-"
		}
		out[i] = s
	}
	return out
}

func statsRows(w io.Writer, ss []*canopyv1.ContainerStats, names map[string]string) {
	rs := make([][]string, len(ss))
	for i, s := range ss {
		rs[i] = statsRow(s, names)
	}
	rows(w, statsHeader, rs)
}

func statsRow(s *canopyv1.ContainerStats, names map[string]string) []string {
	mem := byteSize(s.GetMemoryBytes())
	var memPct string
	if lim := s.GetMemoryLimitBytes(); lim > 0 {
		mem += " / " + byteSize(lim)
		memPct = fmt.Sprintf("%.2f%%", 100*float64(s.GetMemoryBytes())/float64(lim))
	}
	io2 := func(a, b int64) string { return orZero(byteSize(a)) + " / " + orZero(byteSize(b)) }
	return []string{s.GetId(), names[s.GetId()], fmt.Sprintf("%.2f%%", s.GetCpuPercent()), mem, memPct,
		io2(s.GetNetRxBytes(), s.GetNetTxBytes()), io2(s.GetBlockReadBytes(), s.GetBlockWriteBytes()), strconv.FormatInt(s.GetPids(), 10)}
}

func orZero(s string) string {
	if s == "" {
		return "0 B"
	}
	return s
}

func (a containerCmds) topCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "top CONTAINER [ps OPTIONS]",
		Short:   "List a container's processes",
		Long:    "List a running container's processes; ps OPTIONS (default -ef) go to its ps (runtimes without one ignore them).",
		Example: "  canopy container top web\n  canopy container top web aux",
		Args:    args(1, -1, "one CONTAINER (id or name), then ps options"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.containers(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			top, err := c.TopContainer(ctx, &canopyv1.TopContainerRequest{Id: args[0], PsArgs: args[1:]})
			if err != nil {
				return err
			}
			return a.emit(top, func(w io.Writer) {
				rs := make([][]string, len(top.GetProcesses()))
				for i, p := range top.GetProcesses() {
					rs[i] = p.GetFields()
				}
				rows(w, top.GetTitles(), rs)
			})
		}),
	}
	cmd.Flags().SetInterspersed(false) // `top web -ef`: the options are ps's
	return cmd
}

func (a containerCmds) commitCmd() *cobra.Command {
	var (
		message, author string
		pause           bool
	)
	cmd := &cobra.Command{
		Use:   "commit CONTAINER REPOSITORY:TAG",
		Short: "Make an image of a container's filesystem",
		Long: `Make an image of a container's filesystem on its host; a container later
run there can name it. The container is paused while it is copied unless
--pause=false.`,
		Example: "  canopy container commit -m 'with the config' web web:configured",
		Args:    args(2, 2, "CONTAINER and the new image's REPOSITORY:TAG"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.containers(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), true)
			defer cancel()
			im, err := c.CommitContainer(ctx, &canopyv1.CommitContainerRequest{Id: args[0], Reference: args[1], Message: message, Author: author, NoPause: !pause})
			if err != nil {
				return err
			}
			return a.emit(im, func(w io.Writer) { imageRows(w, []*canopyv1.Image{im}) })
		}),
	}
	cmd.Flags().StringVarP(&message, "message", "m", "", "the commit message")
	cmd.Flags().StringVarP(&author, "author", "a", "", "the author")
	cmd.Flags().BoolVarP(&pause, "pause", "p", true, "pause the container while committing")
	cmd.Flags().DurationVar(&a.waitTimeout, "wait-timeout", defaultWaitTimeout, "how long the commit may take")
	return cmd
}

func (a containerCmds) watchCmd() *cobra.Command {
	return watchCmd(a.app, watchSpec[*canopyv1.WatchContainersResponse]{
		kind:  "container",
		short: "Stream container changes as they happen",
		long: `Print every matching container as it is now, then every change (state,
health, name, labels) and every removal, until interrupted or --count events.

The stream is pushed by the runtimes' own event streams (not polled). With
-o json each event is one JSON object per line; with -o yaml, one YAML
document per event.`,
		example: "  canopy container watch\n  canopy container watch --label app=web -o json | jq .container.state",
		open: func(ctx context.Context, f watchFilters) (func() (*canopyv1.WatchContainersResponse, error), error) {
			c, err := a.containers(ctx)
			if err != nil {
				return nil, err
			}
			stream, err := c.WatchContainers(ctx, &canopyv1.WatchContainersRequest{Location: f.loc, Name: f.name, Labels: f.labels, Ids: f.ids})
			if err != nil {
				return nil, err
			}
			return stream.Recv, nil
		},
		typ:    func(ev *canopyv1.WatchContainersResponse) string { return ev.GetType().String() },
		format: "%-12s  %-11s  %-36s  %-20s  %-12s  %-9s  %s\n",
		header: []any{"TIME", "EVENT", "ID", "NAME", "STATE", "HEALTH", "CLOUD"},
		row: func(ev *canopyv1.WatchContainersResponse) ([]any, bool) {
			c := ev.GetContainer()
			if c == nil {
				return nil, false
			}
			return []any{c.GetId(), c.GetName(), containerState(c), orDash(containerHealth(c)), c.GetLocation().GetCloud()}, true
		},
	})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
