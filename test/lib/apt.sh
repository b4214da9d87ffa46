# apt_install — the one way the project's scripts install Debian packages.
# make test runs engine suites side by side, so two scripts may install at
# once: a machine-wide flock serialises them (dpkg's own lock would make the
# second fail, and each script's policy-rc.d would be removed under the
# other's install, letting a package's service start with its stock config).
# shellcheck shell=bash

# apt_install PKG...: install the packages (no recommends, keeping existing
# config files) with no service started by their maintainer scripts; when
# the install fails — a fresh machine has no package lists — update once
# and try again. Quiet unless it fails.
apt_install() {
	local sudo_=() out
	[[ $(id -u) == 0 ]] || sudo_=(sudo)
	local apt=("${sudo_[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900)
	local opts=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
	(
		flock 8
		local added=
		if [[ ! -e /usr/sbin/policy-rc.d ]]; then
			printf '#!/bin/sh\n# canopy test/lib/apt.sh: no service starts during install\nexit 101\n' |
				"${sudo_[@]}" tee /usr/sbin/policy-rc.d >/dev/null
			"${sudo_[@]}" chmod 755 /usr/sbin/policy-rc.d
			added=1
		fi
		rc=0
		out=$("${apt[@]}" install "${opts[@]}" "$@" 2>&1) || {
			for i in 1 2 3; do
				"${apt[@]}" -qq update >/dev/null 2>&1 && break
				sleep 10
			done
			out=$("${apt[@]}" install "${opts[@]}" "$@" 2>&1) || rc=$?
		}
		[[ -n $added ]] && "${sudo_[@]}" rm -f /usr/sbin/policy-rc.d
		((rc == 0)) || printf '%s\n' "$out" | tail -20 >&2
		exit "$rc"
	) 8>/var/lock/canopy-apt.lock
}
