package docker

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/canopy-cloud/canopy/providers"
)

// Linux signal numbers by name. Containers run Linux whatever the OS canopy
// runs on, so the table is Linux's, not the local syscall package's.
var signalNumbers = map[string]int{
	"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7,
	"FPE": 8, "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14,
	"TERM": 15, "STKFLT": 16, "CHLD": 17, "CLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20,
	"TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27,
	"WINCH": 28, "IO": 29, "POLL": 29, "PWR": 30, "SYS": 31, "UNUSED": 31,
	"RTMIN": 34, "RTMAX": 64,
}

// maxSignal is the highest Linux signal number (SIGRTMAX).
const maxSignal = 64

// parseSignal reads a signal as KillContainer takes it — a name with or
// without SIG, any case ("KILL", "sigterm"), RTMIN+n / RTMAX-n, or a number
// ("9") — and returns its Linux number. Anything else wraps ErrInvalid:
// Docker itself would answer some unknown names with a 500.
func parseSignal(s string) (int, error) {
	bad := fmt.Errorf("docker: signal %q: not a Linux signal name or number: %w", s, providers.ErrInvalid)
	t := strings.ToUpper(strings.TrimSpace(s))
	if t == "" {
		return 0, bad
	}
	if n, err := strconv.Atoi(t); err == nil {
		if n < 1 || n > maxSignal {
			return 0, bad
		}
		return n, nil
	}
	t = strings.TrimPrefix(t, "SIG")
	if base, off, ok := strings.Cut(t, "+"); ok && base == "RTMIN" {
		n, err := strconv.Atoi(off)
		if err != nil || n < 0 || signalNumbers["RTMIN"]+n > maxSignal {
			return 0, bad
		}
		return signalNumbers["RTMIN"] + n, nil
	}
	if base, off, ok := strings.Cut(t, "-"); ok && base == "RTMAX" {
		n, err := strconv.Atoi(off)
		if err != nil || n < 0 || maxSignal-n < signalNumbers["RTMIN"] {
			return 0, bad
		}
		return maxSignal - n, nil
	}
	if n, ok := signalNumbers[t]; ok {
		return n, nil
	}
	return 0, bad
}
