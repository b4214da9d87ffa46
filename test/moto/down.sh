#!/usr/bin/env bash
# Stop the moto_server that test/moto/up.sh started (exactly the PID it
# recorded in .cache/moto-PORT.pid). Nothing to do when it is not running.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/moto/lib.sh
. "$HERE/lib.sh"
# shellcheck source=test/lib/stop.sh
. "$HERE/../lib/stop.sh"

stop_recorded 50
