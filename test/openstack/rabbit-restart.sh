#!/usr/bin/env bash
# Restart the lab's RabbitMQ: stop exactly the process up.sh recorded
# ($CANOPY_OS_LAB/pid/rabbitmq.pid) and start it again the way up.sh does,
# so the PID file stays right. Nova, Cinder, Glance and Neutron reconnect by
# themselves (oslo.messaging); the broker's queues are gone with it.
#
#   test/openstack/rabbit-restart.sh
#
# Prints "rabbitmq down" when the broker is stopped and "rabbitmq up again"
# once it takes connections (TestNotificationsBrokerRestartOpenStack keys on
# them). The lab is shared: restart it only when your task allows it.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec "$HERE/up.sh" rabbitmq_restart
