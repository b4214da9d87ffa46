package main

import (
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// The parsers of `canopy container run`'s docker-style flag values. Each
// returns a usage error that names the flag and the value, so a typo in one
// of twenty flags is found at once; canopyd validates the rest (bounds,
// names) and its field violations name the request field.

// parseMemory reads a memory limit as Docker writes it ("64m", "1g",
// "512MiB") or as a bare number of MiB ("512"), and returns whole MiB.
// Docker takes a bare number as bytes; canopy's API counts MiB, and a
// bare number in bytes would almost always be a mistake here.
func parseMemory(flag, v string) (int64, error) {
	s := strings.TrimSpace(strings.ToLower(v))
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.TrimSpace(s[i:])
	n, err := strconv.ParseFloat(num, 64)
	if num == "" || err != nil || n < 0 {
		return 0, usageErrorf("--%s %q: want a size like 512m, 1g or a number of MiB", flag, v)
	}
	var bytes float64
	switch unit {
	case "b":
		bytes = n
	case "k", "kb", "kib":
		bytes = n * (1 << 10)
	case "", "m", "mb", "mib":
		bytes = n * (1 << 20)
	case "g", "gb", "gib":
		bytes = n * (1 << 30)
	case "t", "tb", "tib":
		bytes = n * (1 << 40)
	default:
		return 0, usageErrorf("--%s %q: unknown unit %q (want b, k, m, g or t)", flag, v, unit)
	}
	mib := bytes / (1 << 20)
	if mib != math.Trunc(mib) || mib > math.MaxInt32 {
		return 0, usageErrorf("--%s %q: want a whole number of MiB", flag, v)
	}
	return int64(mib), nil
}

// parseRestart reads Docker's --restart: no, always, unless-stopped, or
// on-failure[:max-retries].
func parseRestart(flag, v string) (*canopyv1.RestartPolicy, error) {
	mode, retries, hasRetries := strings.Cut(v, ":")
	p := &canopyv1.RestartPolicy{}
	switch mode {
	case "no", "":
		p.Mode = canopyv1.RestartPolicy_MODE_UNSPECIFIED
	case "always":
		p.Mode = canopyv1.RestartPolicy_MODE_ALWAYS
	case "unless-stopped":
		p.Mode = canopyv1.RestartPolicy_MODE_UNLESS_STOPPED
	case "on-failure":
		p.Mode = canopyv1.RestartPolicy_MODE_ON_FAILURE
	default:
		return nil, usageErrorf("--%s %q: want no, always, unless-stopped or on-failure[:max-retries]", flag, v)
	}
	if hasRetries {
		if p.Mode != canopyv1.RestartPolicy_MODE_ON_FAILURE {
			return nil, usageErrorf("--%s %q: a retry count only goes with on-failure", flag, v)
		}
		n, err := strconv.ParseInt(retries, 10, 32)
		if err != nil || n < 0 {
			return nil, usageErrorf("--%s %q: the retry count is a number from 0 (unlimited)", flag, v)
		}
		p.MaxRetries = int32(n)
	}
	return p, nil
}

// restartWord is a policy as --restart writes it.
func restartWord(p *canopyv1.RestartPolicy) string {
	switch p.GetMode() {
	case canopyv1.RestartPolicy_MODE_ALWAYS:
		return "always"
	case canopyv1.RestartPolicy_MODE_UNLESS_STOPPED:
		return "unless-stopped"
	case canopyv1.RestartPolicy_MODE_ON_FAILURE:
		if p.GetMaxRetries() > 0 {
			return fmt.Sprintf("on-failure:%d", p.GetMaxRetries())
		}
		return "on-failure"
	}
	return "no"
}

// parseEnv reads -e KEY=VALUE flags. A bare KEY takes its value from
// canopy's own environment and is left out when unset, as docker does.
func parseEnv(flag string, vs []string) (map[string]string, error) {
	if len(vs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(vs))
	for _, v := range vs {
		k, val, ok := strings.Cut(v, "=")
		if k == "" || strings.ContainsAny(k, " \t\n") {
			return nil, usageErrorf("--%s %q: want KEY=VALUE (or KEY, to pass on canopy's own)", flag, v)
		}
		if !ok {
			if val, ok = os.LookupEnv(k); !ok {
				continue
			}
		}
		m[k] = val
	}
	return m, nil
}

// parsePort reads docker's -p: [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO],
// the host IP in brackets when it is IPv6 ("[::1]:8080:80").
func parsePort(flag, v string) (*canopyv1.PortBinding, error) {
	bad := func(why string) error {
		return usageErrorf("--%s %q: %s (want [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp])", flag, v, why)
	}
	spec, proto, hasProto := strings.Cut(v, "/")
	if hasProto && proto != "tcp" && proto != "udp" {
		return nil, bad("the protocol is tcp or udp")
	}
	pb := &canopyv1.PortBinding{Protocol: proto}
	if strings.HasPrefix(spec, "[") {
		end := strings.Index(spec, "]:")
		if end < 0 {
			return nil, bad("an IPv6 host address in brackets is followed by ':'")
		}
		pb.HostIp, spec = spec[1:end], spec[end+2:]
		if net.ParseIP(pb.HostIp) == nil {
			return nil, bad("not an IP address: " + pb.HostIp)
		}
		if !strings.Contains(spec, ":") {
			spec = ":" + spec // [::1]:80 publishes container port 80 on any host port
		}
	}
	parts := strings.Split(spec, ":")
	var host, ctr string
	switch len(parts) {
	case 1:
		ctr = parts[0]
	case 2:
		host, ctr = parts[0], parts[1]
	case 3:
		if pb.HostIp != "" {
			return nil, bad("too many ':'")
		}
		pb.HostIp, host, ctr = parts[0], parts[1], parts[2]
		if net.ParseIP(pb.HostIp) == nil {
			return nil, bad("not an IP address: " + pb.HostIp)
		}
	default:
		return nil, bad("too many ':'")
	}
	cp, err := portNumber(ctr)
	if err != nil || cp == 0 {
		return nil, bad("the container port is a number from 1 to 65535")
	}
	pb.ContainerPort = cp
	if host != "" {
		if pb.HostPort, err = portNumber(host); err != nil {
			return nil, bad("the host port is a number from 0 (any) to 65535")
		}
	}
	return pb, nil
}

func portNumber(s string) (int32, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, err
	}
	return int32(n), nil
}

// parseVolume reads docker's -v SRC:DST[:ro|rw]: an absolute SRC is a host
// path (a bind mount), anything else a volume's name.
func parseVolume(flag, v string) (*canopyv1.ContainerMount, error) {
	parts := strings.Split(v, ":")
	m := &canopyv1.ContainerMount{}
	switch len(parts) {
	case 3:
		switch parts[2] {
		case "ro":
			m.ReadOnly = true
		case "rw":
		default:
			return nil, usageErrorf("--%s %q: the mode is ro or rw, got %q", flag, v, parts[2])
		}
	case 2:
	default:
		return nil, usageErrorf("--%s %q: want SOURCE:TARGET[:ro] (a volume name or an absolute host path, then an absolute path inside)", flag, v)
	}
	m.Source, m.Target = parts[0], parts[1]
	if m.Source == "" {
		return nil, usageErrorf("--%s %q: the source (a volume name or an absolute host path) is required", flag, v)
	}
	if !strings.HasPrefix(m.Target, "/") {
		return nil, usageErrorf("--%s %q: the target is an absolute path inside the container", flag, v)
	}
	m.Type = "volume"
	if strings.HasPrefix(m.Source, "/") {
		m.Type = "bind"
	}
	return m, nil
}

// parseTmpfs reads --tmpfs PATH[:ro]. Docker's other mount options (size,
// mode) have no place in the API and are refused rather than dropped.
func parseTmpfs(flag, v string) (*canopyv1.ContainerMount, error) {
	target, opts, _ := strings.Cut(v, ":")
	if !strings.HasPrefix(target, "/") {
		return nil, usageErrorf("--%s %q: want an absolute PATH inside the container, optionally :ro", flag, v)
	}
	m := &canopyv1.ContainerMount{Type: "tmpfs", Target: target}
	switch opts {
	case "", "rw":
	case "ro":
		m.ReadOnly = true
	default:
		return nil, usageErrorf("--%s %q: the only option is ro, got %q", flag, v, opts)
	}
	return m, nil
}

// parseDependsOn reads --depends-on NAME[:started|healthy|completed].
func parseDependsOn(flag, v string) (*canopyv1.Dependency, error) {
	name, cond, _ := strings.Cut(v, ":")
	if name == "" {
		return nil, usageErrorf("--%s %q: want CONTAINER[:started|healthy|completed]", flag, v)
	}
	d := &canopyv1.Dependency{Container: name}
	switch cond {
	case "", "started":
		d.Condition = canopyv1.Dependency_CONDITION_STARTED
	case "healthy", "ready":
		d.Condition = canopyv1.Dependency_CONDITION_HEALTHY
	case "completed", "completed_successfully", "completed-successfully":
		d.Condition = canopyv1.Dependency_CONDITION_COMPLETED_SUCCESSFULLY
	default:
		return nil, usageErrorf("--%s %q: the condition is started, healthy or completed, got %q", flag, v, cond)
	}
	return d, nil
}

// parseSince reads --since: a duration back from now ("10m") or a time
// (RFC 3339, or a Unix timestamp as docker prints them).
func parseSince(flag, v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		if d < 0 {
			return time.Time{}, usageErrorf("--%s %q: a duration back from now must not be negative", flag, v)
		}
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
		sec, frac := math.Modf(secs)
		return time.Unix(int64(sec), int64(frac*1e9)), nil
	}
	return time.Time{}, usageErrorf("--%s %q: want a duration (10m, 2h) or a time (2006-01-02T15:04:05Z07:00)", flag, v)
}

// parseTail reads --tail: a number of lines, or "all".
func parseTail(flag, v string) (int32, error) {
	if v == "all" || v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n < 0 {
		return 0, usageErrorf("--%s %q: want a number of lines or all", flag, v)
	}
	return int32(n), nil
}

// containerStates maps the words `ls --filter status=` and `wait` accept
// (docker's and canopy's) to states.
var containerStates = map[string]canopyv1.Container_State{
	"creating": canopyv1.Container_STATE_CREATING, "created": canopyv1.Container_STATE_CREATED,
	"running": canopyv1.Container_STATE_RUNNING, "paused": canopyv1.Container_STATE_PAUSED,
	"restarting": canopyv1.Container_STATE_RESTARTING, "stopped": canopyv1.Container_STATE_STOPPED,
	"exited": canopyv1.Container_STATE_STOPPED, "deleting": canopyv1.Container_STATE_DELETING,
	"removing": canopyv1.Container_STATE_DELETING, "dead": canopyv1.Container_STATE_DEAD,
	"error": canopyv1.Container_STATE_ERROR, "unknown": canopyv1.Container_STATE_UNKNOWN,
}

// lsFilter is what `container ls --filter` selects.
type lsFilter struct {
	name      string
	state     canopyv1.Container_State
	labels    map[string]string
	labelKeys []string // label=KEY: present with any value (checked here)
}

// parseFilters reads docker's --filter KEY=VALUE for name, label and status.
func parseFilters(flag string, vs []string) (lsFilter, error) {
	var f lsFilter
	for _, v := range vs {
		k, val, ok := strings.Cut(v, "=")
		if !ok || val == "" {
			return f, usageErrorf("--%s %q: want name=NAME, label=KEY[=VALUE] or status=STATE", flag, v)
		}
		switch k {
		case "name":
			f.name = val
		case "status", "state":
			st, ok := containerStates[strings.ToLower(val)]
			if !ok {
				return f, usageErrorf("--%s %q: unknown state %q (running, created, paused, restarting, exited, dead, error, …)", flag, v, val)
			}
			f.state = st
		case "label":
			lk, lv, hasValue := strings.Cut(val, "=")
			if !hasValue {
				f.labelKeys = append(f.labelKeys, lk)
				continue
			}
			if f.labels == nil {
				f.labels = map[string]string{}
			}
			f.labels[lk] = lv
		default:
			return f, usageErrorf("--%s %q: canopy filters by name, label and status, not %q", flag, v, k)
		}
	}
	return f, nil
}

// keep applies what canopyd cannot: labels present with any value.
func (f lsFilter) keep(c *canopyv1.Container) bool {
	for _, k := range f.labelKeys {
		if _, ok := c.GetLabels()[k]; !ok {
			return false
		}
	}
	return true
}
