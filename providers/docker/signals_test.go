package docker

import (
	"errors"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]int{
		"KILL": 9, "SIGKILL": 9, "sigterm": 15, "hup": 1, "9": 9, "15": 15, "64": 64, " USR1 ": 10,
		"WINCH": 28, "SIGRTMIN": 34, "RTMIN+2": 36, "SIGRTMAX-1": 63, "RTMAX": 64, "CHLD": 17,
	} {
		got, err := parseSignal(in)
		if err != nil || got != want {
			t.Errorf("parseSignal(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "NOPE", "SIG", "0", "65", "-9", "9.5", "RTMIN+31", "RTMAX-31", "RTMIN+x"} {
		if _, err := parseSignal(in); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("parseSignal(%q): err = %v, want ErrInvalid", in, err)
		}
	}
}
