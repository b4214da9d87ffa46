package server

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/router"
)

// Bounds of container requests.
const (
	maxContainerArgs  = 256
	maxContainerArg   = 32 << 10
	maxContainerEnv   = 256
	maxContainerCPU   = 1024
	minContainerMiB   = 6 // Docker's minimum memory limit
	maxContainerMiB   = 1 << 22
	maxContainerPorts = 64
	maxContainerMnts  = 64
	maxDependencies   = 32
)

// signals are the names KillContainer takes (with or without "SIG"),
// Linux's numbering.
var signals = map[string]int{
	"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "BUS": 7, "FPE": 8, "KILL": 9, "USR1": 10,
	"SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15, "STKFLT": 16, "CHLD": 17, "CONT": 18, "STOP": 19,
	"TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27, "WINCH": 28,
	"IO": 29, "PWR": 30, "SYS": 31,
}

// checkSignal accepts a signal name or a number from 1 to 64.
func checkSignal(sig string) error {
	if n, err := strconv.Atoi(sig); err == nil {
		if n < 1 || n > 64 {
			return router.BadRequest("signal", "signal numbers go from 1 to 64, got %d", n)
		}
		return nil
	}
	if _, ok := signals[strings.TrimPrefix(strings.ToUpper(sig), "SIG")]; !ok {
		return router.BadRequest("signal", "unknown signal %q (e.g. KILL, TERM, HUP, INT, USR1, or a number)", sig)
	}
	return nil
}

// checkContainerName is a name Docker and containerd both accept:
// [a-zA-Z0-9][a-zA-Z0-9_.-]+, 2 to 128 characters.
func checkContainerName(field, name string) error {
	if name == "" {
		return router.BadRequest(field, "required")
	}
	if len(name) < 2 {
		return router.BadRequest(field, "%q: container names have at least 2 characters (Docker's rule)", name)
	}
	if len(name) > 128 {
		return router.BadRequest(field, "at most 128 characters, got %d", len(name))
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && (r == '_' || r == '.' || r == '-')
		if !ok {
			return router.BadRequest(field, "%q: container names are letters, digits and (after the first) '_', '.', '-'", name)
		}
	}
	return nil
}

func checkCPU(field string, cpu float64) error {
	if cpu < 0 || cpu > maxContainerCPU || cpu != cpu {
		return router.BadRequest(field, "must be between 0 (unlimited) and %d CPUs, got %v", maxContainerCPU, cpu)
	}
	if cpu > 0 && cpu < 0.01 {
		return router.BadRequest(field, "at least 0.01 CPUs, got %v", cpu)
	}
	return nil
}

// memoryOf converts a memory limit in MiB to bytes; 0 is unlimited.
func memoryOf(field string, mib int64) (int64, error) {
	if mib == 0 {
		return 0, nil
	}
	if mib < minContainerMiB || mib > maxContainerMiB {
		return 0, router.BadRequest(field, "must be 0 (unlimited) or between %d and %d MiB (the runtimes refuse less than %d MiB), got %d", minContainerMiB, maxContainerMiB, minContainerMiB, mib)
	}
	return mib << 20, nil
}

func checkRestart(field string, r *canopyv1.RestartPolicy) error {
	if _, ok := canopyv1.RestartPolicy_Mode_name[int32(r.GetMode())]; !ok {
		return router.BadRequest(field+".mode", "unknown mode %d", r.GetMode())
	}
	if r.GetMaxRetries() < 0 {
		return router.BadRequest(field+".max_retries", "must not be negative, got %d", r.GetMaxRetries())
	}
	if r.GetMaxRetries() > 0 && r.GetMode() != canopyv1.RestartPolicy_MODE_ON_FAILURE {
		return router.BadRequest(field+".max_retries", "only with mode ON_FAILURE")
	}
	return nil
}

func checkArgv(field string, argv []string, required bool) error {
	if required && len(argv) == 0 {
		return router.BadRequest(field, "required: the program and its arguments")
	}
	if len(argv) > maxContainerArgs {
		return router.BadRequest(field, "at most %d arguments, got %d", maxContainerArgs, len(argv))
	}
	for i, a := range argv {
		if len(a) > maxContainerArg {
			return router.BadRequest(field, "%s[%d]: at most %d bytes", field, i, maxContainerArg)
		}
		if strings.IndexByte(a, 0) >= 0 {
			return router.BadRequest(field, "%s[%d] contains a NUL byte", field, i)
		}
	}
	return nil
}

func checkEnv(field string, env map[string]string) error {
	if len(env) > maxContainerEnv {
		return router.BadRequest(field, "at most %d variables, got %d", maxContainerEnv, len(env))
	}
	for k, v := range env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return router.BadRequest(field, "variable name %q must be non-empty without '=' or NUL", k)
		}
		if strings.IndexByte(v, 0) >= 0 || len(v) > maxContainerArg {
			return router.BadRequest(field, "%s: value contains NUL or is longer than %d bytes", k, maxContainerArg)
		}
	}
	return nil
}

// durationIn checks an optional duration field against bounds; def when
// unset.
func durationIn(field string, d interface{ AsDuration() time.Duration }, set bool, def, min, max time.Duration) (time.Duration, error) {
	if !set {
		return def, nil
	}
	v := d.AsDuration()
	if v < min || v > max {
		return 0, router.BadRequest(field, "must be between %s and %s, got %s", min, max, v)
	}
	return v, nil
}

func decodeRecord(raw []byte) containerRecord {
	var r containerRecord
	_ = json.Unmarshal(raw, &r)
	return r
}

func conditionName(c int32) string {
	return strings.TrimPrefix(canopyv1.Dependency_Condition(c).String(), "CONDITION_")
}

func depName(d containerDep) string {
	if d.Name != "" {
		return fmt.Sprintf("%s (%s)", d.Name, d.ID)
	}
	return d.ID
}
