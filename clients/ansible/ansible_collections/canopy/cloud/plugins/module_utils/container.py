# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the container and container_info modules share: canopy's container
as the modules return it, durations, and the enum words of container.proto."""

from __future__ import annotations

import re

# Container.State without its prefix, as the modules' options spell them.
STATES = ('creating', 'created', 'running', 'paused', 'restarting', 'stopped',
          'deleting', 'dead', 'error', 'unknown')

RESTART_MODES = {
    'no': 'MODE_UNSPECIFIED',
    'always': 'MODE_ALWAYS',
    'on-failure': 'MODE_ON_FAILURE',
    'unless-stopped': 'MODE_UNLESS_STOPPED',
}

DEPENDENCY_CONDITIONS = {
    'started': 'CONDITION_STARTED',
    'healthy': 'CONDITION_HEALTHY',
    'completed_successfully': 'CONDITION_COMPLETED_SUCCESSFULLY',
}

_DURATION_PART = re.compile(r'([0-9]*\.?[0-9]+)(ms|h|m|s)')
_UNITS = {'h': 3600.0, 'm': 60.0, 's': 1.0, 'ms': 0.001}


def state_enum(value):
    """'running', 'RUNNING' or 'STATE_RUNNING' -> 'STATE_RUNNING'."""
    v = (value or '').strip().upper()
    if v and not v.startswith('STATE_'):
        v = 'STATE_' + v
    return v


def parse_duration(value, option):
    """Seconds (a float) of '30', '30s', '1m30s', '500ms' or '1.5h'.

    protojson's own form ('0.200s') parses too, so what canopy returns is
    compared with what a task asks for. Raises ValueError naming option."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    s = str(value).strip().lower()
    if not s:
        return None
    try:
        return float(s)
    except ValueError:
        pass
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s) or pos == 0:
        raise ValueError('%s: %r is not a duration (seconds, or like 30s, 1m30s, 500ms)' % (option, value))
    return total


def duration_json(seconds):
    """A google.protobuf.Duration as protojson takes it: '1.5s'."""
    if seconds == int(seconds):
        return '%ds' % int(seconds)
    return ('%.9f' % seconds).rstrip('0') + 's'


def normalize_container(c):
    """The container as the modules return it: memory_mib (an int64 that
    protojson renders as a string) as an int, and the booleans and words
    protojson leaves out when false or unset given their defaults."""
    if not isinstance(c, dict):
        return c
    out = dict(c)
    mem = out.get('memory_mib')
    if isinstance(mem, str):
        try:
            out['memory_mib'] = int(mem)
        except ValueError:
            pass
    out.setdefault('memory_mib', 0)
    out.setdefault('cpu', 0)
    out.setdefault('ready', False)
    out.setdefault('auto_remove', False)
    out.setdefault('health', 'HEALTH_UNSPECIFIED')
    out.setdefault('labels', {})
    out.setdefault('env', {})
    return out


def same_image(a, b):
    """Whether two image references name the same image (Docker's short
    names, docker.io/library/ forms and the implicit :latest alike)."""
    def norm(r):
        r = (r or '').strip()
        for prefix in ('docker.io/', 'library/'):
            if r.startswith(prefix):
                r = r[len(prefix):]
        last = r.rsplit('/', 1)[-1]
        if ':' not in last and '@' not in r:
            r += ':latest'
        return r
    return norm(a) == norm(b)
