#!/usr/bin/env bash
# Stop the toxiproxy server test/faults/up.sh started on this port (its
# recorded PID, nothing else).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/faults/lib.sh
. "$HERE/lib.sh"
# shellcheck source=test/lib/stop.sh
. "$HERE/../lib/stop.sh"

stop_recorded 50
