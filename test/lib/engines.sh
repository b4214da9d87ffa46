# Engines the end-to-end scripts (scripts/test-*.sh) share: the OpenStack
# lab, which stays up once started (as everywhere), and moto, stopped again
# by the script that started it.
# shellcheck shell=bash

# lab_clouds_yaml: $CANOPY_OS_CLOUDS_YAML, else the clouds.yaml of the lab
# test/openstack/up.sh starts or finds (idempotent, seconds when it is up).
lab_clouds_yaml() {
	if [[ -n ${CANOPY_OS_CLOUDS_YAML:-} ]]; then
		echo "$CANOPY_OS_CLOUDS_YAML"
	else
		test/openstack/up.sh | tail -n 1
	fi
}

# moto_for_script: prints moto's endpoint on CANOPY_MOTO_PORT (default
# 5055), starting it when it is down; moto_started is 1 when this call
# started it (stop it with test/moto/down.sh unless CANOPY_MOTO_KEEP=1).
# Call it directly, not in $(...), so moto_started reaches the caller.
moto_for_script() {
	moto_started=1
	curl -fs -o /dev/null --max-time 3 "http://127.0.0.1:${CANOPY_MOTO_PORT:-5055}/moto-api/config" && moto_started=0
	moto_endpoint=$(test/moto/up.sh | tail -n 1)
	[[ ${CANOPY_MOTO_KEEP:-} != 1 ]] || moto_started=0
}
