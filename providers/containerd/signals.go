package containerd

import (
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/canopy-cloud/canopy/providers"
)

// parseSignal reads a signal as KillContainer takes it: a name with or
// without SIG ("KILL", "SIGTERM", "hup") or a number ("9"). Anything else
// wraps ErrInvalid, so a typo never turns into a default signal.
func parseSignal(s string) (syscall.Signal, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	if t == "" {
		return 0, errorf(providers.ErrInvalid, "empty signal")
	}
	if n, err := strconv.Atoi(t); err == nil {
		if n <= 0 || n > 64 {
			return 0, errorf(providers.ErrInvalid, "signal %q out of range 1-64", s)
		}
		return syscall.Signal(n), nil
	}
	if !strings.HasPrefix(t, "SIG") {
		t = "SIG" + t
	}
	if sig := unix.SignalNum(t); sig != 0 {
		return sig, nil
	}
	return 0, errorf(providers.ErrInvalid, "unknown signal %q", s)
}
