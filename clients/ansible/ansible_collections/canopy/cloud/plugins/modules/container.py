#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: container
short_description: Create, start, stop, pause, restart or delete a container in any cloud canopy fronts
version_added: 0.1.0
description:
  - Manages a container on a container host (Docker, containerd, the
    simulator) through canopy's ContainerService, by name and location. The
    counterpart of C(openstack.cloud)'s missing Zun module and shaped after
    C(community.docker.docker_container).
  - A create is a durable canopy operation (C(container.create)); with
    O(wait) the module waits for it (C(POST /v1/operations/{id}:wait)), which
    ends once the container is started and, when it has a O(healthcheck) or
    a O(ready_probe), ready. Without O(wait) it returns the operation under
    RV(operation).
  - An existing container is compared with the task. O(cpu), O(memory_mib)
    and O(restart_policy) are changed in place (C(PATCH /v1/containers/{id})).
    Every other option given that differs (O(image), O(command), O(env), ...)
    cannot be changed on an existing container - the module fails naming the
    differing options, unless O(recreate=true), which deletes the container
    (killing it when it runs) and creates it anew. Options not given are not
    compared; O(env) is compared key by key (the image adds its own
    variables), O(labels) as a whole.
  - Power state follows O(state) with canopy's state table
    (C(docs/containers.md)); an action that is not needed is not sent.
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
notes:
  - For containers the O(zone) is the container host (for example
    V(sim-host) on a simulated cloud); set O(cloud) to choose the cloud.
  - O(state=restarted) restarts the container on every run (it always
    reports a change), except in the run that created it.
  - With O(state=paused) the module waits for the create operation whatever
    O(wait) says, since only a running container can be paused.
options:
  name:
    description:
      - The container name (unique per host); with the location it identifies
        the container.
      - The create's C(request_id) is a UUIDv5 of the module name, O(name),
        the location and every create option, so a retried task never
        creates twice.
    type: str
    required: true
  state:
    description:
      - V(present) makes sure the container exists (a new one is created, not
        started; an existing one keeps its power state).
      - V(started) makes sure it exists and runs (a paused one is unpaused);
        with O(wait), ready when it has a O(healthcheck) or O(ready_probe).
      - V(stopped) makes sure it exists and does not run (a new one is
        created, not started; a running or paused one is stopped).
      - V(restarted) makes sure it exists and restarts it.
      - V(paused) makes sure it exists and runs with its processes frozen.
      - V(absent) deletes it; a running container is stopped first
        (O(stop_timeout)), or killed with O(force=true).
    type: str
    choices: [present, started, stopped, restarted, paused, absent]
    default: started
  image:
    description:
      - The image reference the host has (or canopy can pull through another
        cloud), for example V(canopy-test/busybox:latest). Required to
        create.
    type: str
  command:
    description:
      - Overrides the image's command (an argv, run without a shell; use
        V([sh, -c, "..."]) for one).
    type: list
    elements: str
  entrypoint:
    description:
      - Overrides the image's entrypoint.
    type: list
    elements: str
  env:
    description:
      - Environment variables (values are turned into strings).
    type: dict
  labels:
    description:
      - Labels (values are turned into strings; the C(canopy.) prefix is
        canopy's own).
    type: dict
  cpu:
    description:
      - CPUs (fractions allowed); V(0) is unlimited. Changed in place.
    type: float
  memory_mib:
    description:
      - Memory limit in MiB; V(0) is unlimited. Changed in place.
    type: int
  restart_policy:
    description:
      - What the runtime does when the main process ends. Changed in place.
    type: dict
    suboptions:
      mode:
        description:
          - V(no) never, V(always) always (also after a reboot of the host),
            V(on-failure) after a non-zero exit, V(unless-stopped) always
            unless it was stopped.
        type: str
        choices: ['no', always, on-failure, unless-stopped]
        default: 'no'
      max_retries:
        description:
          - For V(on-failure), at most this many restarts (V(0) unlimited).
        type: int
        default: 0
  healthcheck:
    description:
      - A command run inside the container that tells it is healthy
        (Docker's semantics). With it the container is ready only once
        healthy.
      - Durations are seconds or Go-style durations (V(30s), V(1m30s),
        V(500ms)).
    type: dict
    suboptions:
      cmd:
        description:
          - The command (an argv, no shell; use V([sh, -c, "..."]) for one).
        type: list
        elements: str
        required: true
      interval:
        description:
          - Between checks (canopy's default 30s).
        type: str
      timeout:
        description:
          - For one check (canopy's default 30s).
        type: str
      retries:
        description:
          - Failures in a row that make it unhealthy (canopy's default 3).
        type: int
      start_period:
        description:
          - Failures within this time from the start do not count.
        type: str
  ready_probe:
    description:
      - canopy's own readiness check, for images without a healthcheck (a
        TCP port that accepts a connection or a command that exits 0, inside
        the container). The create operation ends once it passes.
    type: dict
    suboptions:
      tcp_port:
        description:
          - A port that must accept a connection.
        type: int
      command:
        description:
          - A command that must exit 0.
        type: list
        elements: str
      interval:
        description:
          - Between attempts (canopy's default 1s).
        type: str
      timeout:
        description:
          - Give up after this long; the create fails (canopy's default 5m).
        type: str
  depends_on:
    description:
      - Containers (canopy id or name, in the same cloud) this one waits for
        before canopy starts it; the create operation waits with it. Only for
        a container that is started when created (O(state) V(started),
        V(restarted) or V(paused)).
    type: list
    elements: dict
    suboptions:
      container:
        description:
          - The container waited for.
        type: str
        required: true
      condition:
        description:
          - V(started) it runs (or ran), V(healthy) it is ready,
            V(completed_successfully) it exited 0.
        type: str
        choices: [started, healthy, completed_successfully]
        default: started
  auto_remove:
    description:
      - Remove the container when it exits (conflicts with a
        O(restart_policy)).
    type: bool
  workdir:
    description:
      - The working directory (an absolute path).
    type: str
  user:
    description:
      - The user (name or uid[:gid]).
    type: str
  hostname:
    description:
      - The hostname inside the container.
    type: str
  ports:
    description:
      - Container ports to publish on the host.
    type: list
    elements: dict
    suboptions:
      container_port:
        description:
          - The port inside the container.
        type: int
        required: true
      protocol:
        description:
          - The protocol.
        type: str
        choices: [tcp, udp]
        default: tcp
      host_ip:
        description:
          - The host address to bind (default all).
        type: str
      host_port:
        description:
          - The host port; V(0) lets the runtime pick (and is not compared).
        type: int
        default: 0
  mounts:
    description:
      - Volumes, host directories and tmpfs to mount.
    type: list
    elements: dict
    suboptions:
      type:
        description:
          - What is mounted.
        type: str
        choices: [volume, bind, tmpfs]
        default: volume
      source:
        description:
          - The runtime's volume name, or the host path of a bind.
        type: str
      target:
        description:
          - The path inside the container.
        type: str
        required: true
      read_only:
        description:
          - Mount it read-only.
        type: bool
        default: false
  recreate:
    description:
      - When an existing container differs in options canopy cannot change
        in place, delete it (killing it when it runs) and create it with the
        task's options, instead of failing.
    type: bool
    default: false
  force:
    description:
      - With O(state=absent) (and when O(recreate) replaces a container),
        kill a running container instead of stopping it first.
    type: bool
    default: false
  stop_timeout:
    description:
      - Seconds between SIGTERM and SIGKILL when the module stops or
        restarts the container (canopy's default 10).
    type: int
'''

EXAMPLES = r'''
- name: A web server, started once healthy
  canopy.cloud.container:
    name: web
    cloud: east
    image: canopy-test/busybox:latest
    command: [httpd, -f, -p, '8080', -h, /www]
    memory_mib: 64
    restart_policy: {mode: on-failure, max_retries: 3}
    healthcheck:
      cmd: [wget, -q, -O, /dev/null, 'http://127.0.0.1:8080/']
      interval: 1s

- name: An app that starts once web is healthy
  canopy.cloud.container:
    name: app
    cloud: east
    image: canopy-test/busybox:latest
    command: [sleep, '3600']
    depends_on:
      - {container: web, condition: healthy}

- name: Stop web
  canopy.cloud.container:
    name: web
    cloud: east
    state: stopped
    stop_timeout: 2

- name: Replace web when its command changed
  canopy.cloud.container:
    name: web
    cloud: east
    image: canopy-test/busybox:latest
    command: [httpd, -f, -p, '8081', -h, /www]
    recreate: true

- name: Delete it, running or not
  canopy.cloud.container:
    name: web
    cloud: east
    state: absent
    force: true
'''

RETURN = r'''
container:
  description: The container (after the change; when waiting, in its final
    state); C(null) after a delete.
  returned: always
  type: dict
  sample:
    id: 06ac2372-6d1a-4781-8864-6398c05929b6
    name: web
    state: STATE_RUNNING
    status: STATUS_ACTIVE
    health: HEALTH_HEALTHY
    ready: true
    image: canopy-test/busybox:latest
    memory_mib: 64
    location: {cloud: east, region: sim-1, zone: sim-host, project: default}
actions:
  description: What the module did (or, in check mode, would do), in order,
    for example V([update, start]) or V([delete, create]).
  returned: always
  type: list
  elements: str
operation:
  description: The create operation.
  returned: when a container was created (not in check mode)
  type: dict
request_id:
  description: The idempotency key the create sent.
  returned: when a container was created
  type: str
differences:
  description: The options an existing container differs in that canopy
    cannot change in place, each with what the container C(has) and what
    the task C(wants).
  returned: when such differences made the task fail, or were replaced
    with O(recreate)
  type: dict
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import (
    CanopyError, CanopyModule, path_id)
from ansible_collections.canopy.cloud.plugins.module_utils.container import (
    DEPENDENCY_CONDITIONS, RESTART_MODES, duration_json, normalize_container,
    parse_duration, same_image)

# The options a create sends (and that make up its request_id).
CREATE_OPTIONS = ('image', 'command', 'entrypoint', 'env', 'labels', 'cpu', 'memory_mib',
                  'restart_policy', 'healthcheck', 'ready_probe', 'depends_on', 'auto_remove',
                  'workdir', 'user', 'hostname', 'ports', 'mounts')

# canopy's field names that differ from the options (for its BadRequests).
FIELD_OPTIONS = {'ready_probe.command.argv': 'ready_probe.command'}

RUNNING = ('STATE_RUNNING', 'STATE_RESTARTING')


def main():
    cm = CanopyModule('container', dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='started',
                   choices=['present', 'started', 'stopped', 'restarted', 'paused', 'absent']),
        image=dict(type='str'),
        command=dict(type='list', elements='str'),
        entrypoint=dict(type='list', elements='str'),
        env=dict(type='dict'),
        labels=dict(type='dict'),
        cpu=dict(type='float'),
        memory_mib=dict(type='int'),
        restart_policy=dict(type='dict', options=dict(
            mode=dict(type='str', default='no', choices=['no', 'always', 'on-failure', 'unless-stopped']),
            max_retries=dict(type='int', default=0),
        )),
        healthcheck=dict(type='dict', options=dict(
            cmd=dict(type='list', elements='str', required=True),
            interval=dict(type='str'),
            timeout=dict(type='str'),
            retries=dict(type='int'),
            start_period=dict(type='str'),
        )),
        ready_probe=dict(type='dict', options=dict(
            tcp_port=dict(type='int'),
            command=dict(type='list', elements='str'),
            interval=dict(type='str'),
            timeout=dict(type='str'),
        ), mutually_exclusive=[('tcp_port', 'command')], required_one_of=[('tcp_port', 'command')]),
        depends_on=dict(type='list', elements='dict', options=dict(
            container=dict(type='str', required=True),
            condition=dict(type='str', default='started', choices=['started', 'healthy', 'completed_successfully']),
        )),
        auto_remove=dict(type='bool'),
        workdir=dict(type='str'),
        user=dict(type='str'),
        hostname=dict(type='str'),
        ports=dict(type='list', elements='dict', options=dict(
            container_port=dict(type='int', required=True),
            protocol=dict(type='str', default='tcp', choices=['tcp', 'udp']),
            host_ip=dict(type='str'),
            host_port=dict(type='int', default=0),
        )),
        mounts=dict(type='list', elements='dict', options=dict(
            type=dict(type='str', default='volume', choices=['volume', 'bind', 'tmpfs']),
            source=dict(type='str'),
            target=dict(type='str', required=True),
            read_only=dict(type='bool', default=False),
        )),
        recreate=dict(type='bool', default=False),
        force=dict(type='bool', default=False),
        stop_timeout=dict(type='int'),
    ), supports_check_mode=True, field_options=FIELD_OPTIONS)
    cm.run(lambda: Container(cm).run())


def strmap(d):
    return None if d is None else dict((k, str(v)) for k, v in d.items())


def seconds(value, option):
    try:
        return parse_duration(value, option)
    except ValueError as e:
        raise CanopyError('canopy rejected field %s' % e)


class Container(object):
    def __init__(self, cm):
        self.cm = cm
        self.p = cm.params
        self.actions = []
        self.extra = {}

    # --- the request --------------------------------------------------------

    def body(self):
        """The CreateContainerRequest of the task (without request_id)."""
        p = self.p
        b = dict(name=p['name'])
        loc = dict((k, p[k]) for k in ('cloud', 'region', 'zone') if p[k])
        if loc:
            b['location'] = loc
        for k in ('image', 'workdir', 'user', 'hostname'):
            if p[k]:
                b[k] = p[k]
        for k in ('command', 'entrypoint'):
            if p[k]:
                b[k] = list(p[k])
        for k in ('env', 'labels'):
            if p[k]:
                b[k] = strmap(p[k])
        if p['cpu']:
            b['cpu'] = p['cpu']
        if p['memory_mib']:
            b['memory_mib'] = str(p['memory_mib'])
        if p['restart_policy'] and p['restart_policy']['mode'] != 'no':
            b['restart_policy'] = self.restart_policy()
        if p['healthcheck']:
            h = p['healthcheck']
            hb = dict(cmd=list(h['cmd']))
            for k in ('interval', 'timeout', 'start_period'):
                if h[k] is not None:
                    hb[k] = duration_json(seconds(h[k], 'healthcheck.' + k))
            if h['retries'] is not None:
                hb['retries'] = h['retries']
            b['healthcheck'] = hb
        if p['ready_probe']:
            r = p['ready_probe']
            rb = {}
            if r['tcp_port'] is not None:
                rb['tcp_port'] = r['tcp_port']
            else:
                rb['command'] = dict(argv=list(r['command']))
            for k in ('interval', 'timeout'):
                if r[k] is not None:
                    rb[k] = duration_json(seconds(r[k], 'ready_probe.' + k))
            b['ready_probe'] = rb
        if p['depends_on']:
            b['depends_on'] = [dict(container=d['container'], condition=DEPENDENCY_CONDITIONS[d['condition']])
                               for d in p['depends_on']]
        if p['auto_remove']:
            b['auto_remove'] = True
        if p['ports']:
            b['ports'] = [dict((k, v) for k, v in pb.items() if v) for pb in p['ports']]
        if p['mounts']:
            b['mounts'] = [dict((k, v) for k, v in m.items() if v) for m in p['mounts']]
        b['run'] = p['state'] in ('started', 'restarted', 'paused')
        return b

    def restart_policy(self):
        rp = self.p['restart_policy']
        out = {}
        if rp['mode'] != 'no':
            out['mode'] = RESTART_MODES[rp['mode']]
        if rp['max_retries']:
            out['max_retries'] = rp['max_retries']
        return out

    def identity(self):
        ident = dict((k, self.p[k]) for k in ('name', 'cloud', 'region', 'zone') + CREATE_OPTIONS)
        ident['run'] = self.p['state'] in ('started', 'restarted', 'paused')
        return ident

    # --- comparing with an existing container ---------------------------------

    def immutable_differences(self, c):
        """{option: {has, wants}} of the options given that differ and that
        canopy cannot change in place."""
        p = self.p
        out = {}

        def differ(option, has, wants):
            out[option] = dict(has=has, wants=wants)

        if p['image'] and not same_image(c.get('image'), p['image']):
            differ('image', c.get('image'), p['image'])
        for k in ('command', 'entrypoint'):
            if p[k] is not None and list(c.get(k) or []) != list(p[k]):
                differ(k, c.get(k) or [], p[k])
        if p['env'] is not None:
            have = c.get('env') or {}
            want = strmap(p['env'])
            if any(have.get(k) != v for k, v in want.items()):
                differ('env', dict((k, have.get(k)) for k in want), want)
        if p['labels'] is not None and dict(c.get('labels') or {}) != strmap(p['labels']):
            differ('labels', c.get('labels') or {}, strmap(p['labels']))
        for k in ('workdir', 'user', 'hostname'):
            if p[k] is not None and (c.get(k) or '') != p[k]:
                differ(k, c.get(k) or '', p[k])
        if p['auto_remove'] is not None and bool(c.get('auto_remove')) != p['auto_remove']:
            differ('auto_remove', bool(c.get('auto_remove')), p['auto_remove'])
        if p['healthcheck'] is not None:
            have, want = self.healthcheck_of(c.get('healthcheck')), self.healthcheck_wanted()
            if have != want:
                differ('healthcheck', have, want)
        if p['ready_probe'] is not None:
            have, want = self.probe_of(c.get('ready_probe')), self.probe_wanted()
            if have != want:
                differ('ready_probe', have, want)
        if p['ports'] is not None:
            have = [dict(container_port=x.get('container_port'), protocol=x.get('protocol') or 'tcp',
                         host_ip=x.get('host_ip') or '', host_port=x.get('host_port') or 0)
                    for x in c.get('ports') or []]
            want = [dict(container_port=x['container_port'], protocol=x['protocol'],
                         host_ip=x['host_ip'] or '', host_port=x['host_port'] or 0) for x in p['ports']]
            left = list(have)
            ok = True
            for w in want:
                for i, h in enumerate(left):
                    if all(h[k] == w[k] for k in ('container_port', 'protocol', 'host_ip')) \
                            and (not w['host_port'] or w['host_port'] == h['host_port']):
                        del left[i]
                        break
                else:
                    ok = False
            if not ok or left:
                differ('ports', have, want)
        if p['mounts'] is not None:
            def key(m):
                return (m.get('type') or 'volume', m.get('source') or '', m.get('target') or '',
                        bool(m.get('read_only')))
            have = sorted(key(m) for m in c.get('mounts') or [])
            want = sorted(key(m) for m in p['mounts'])
            if have != want:
                differ('mounts', [dict(zip(('type', 'source', 'target', 'read_only'), m)) for m in have],
                       [dict(zip(('type', 'source', 'target', 'read_only'), m)) for m in want])
        if p['depends_on'] is not None:
            have = self.dependencies_of(c)
            want = sorted((d['container'], d['condition']) for d in p['depends_on'])
            if not self.same_dependencies(have, want):
                differ('depends_on', [dict(container=n, condition=cd) for n, cd in sorted(have)],
                       [dict(container=n, condition=cd) for n, cd in want])
        return out

    def healthcheck_of(self, h):
        if not h:
            return None
        return dict(cmd=list(h.get('cmd') or []),
                    interval=seconds(h.get('interval') or '30s', 'healthcheck.interval'),
                    timeout=seconds(h.get('timeout') or '30s', 'healthcheck.timeout'),
                    retries=h.get('retries') or 3,
                    start_period=seconds(h.get('start_period') or '0s', 'healthcheck.start_period'))

    def healthcheck_wanted(self):
        h = self.p['healthcheck']
        return dict(cmd=list(h['cmd']),
                    interval=seconds(h['interval'] or '30s', 'healthcheck.interval'),
                    timeout=seconds(h['timeout'] or '30s', 'healthcheck.timeout'),
                    retries=h['retries'] or 3,
                    start_period=seconds(h['start_period'] or '0s', 'healthcheck.start_period'))

    def probe_of(self, r):
        if not r:
            return None
        return dict(tcp_port=r.get('tcp_port') or None,
                    command=list((r.get('command') or {}).get('argv') or []) or None,
                    interval=seconds(r.get('interval') or '1s', 'ready_probe.interval'),
                    timeout=seconds(r.get('timeout') or '300s', 'ready_probe.timeout'))

    def probe_wanted(self):
        r = self.p['ready_probe']
        return dict(tcp_port=r['tcp_port'] or None, command=list(r['command'] or []) or None,
                    interval=seconds(r['interval'] or '1s', 'ready_probe.interval'),
                    timeout=seconds(r['timeout'] or '300s', 'ready_probe.timeout'))

    def dependencies_of(self, c):
        """[(canopy id, condition word)] of the container's dependencies."""
        words = dict((v, k) for k, v in DEPENDENCY_CONDITIONS.items())
        return [(d.get('container'), words.get(d.get('condition') or 'CONDITION_STARTED', 'started'))
                for d in c.get('depends_on') or []]

    def same_dependencies(self, have, want):
        """canopy keeps a dependency's id; the task may name it."""
        if len(have) != len(want):
            return False
        names = {}
        for ident, dummy in have:
            dep = self.cm.client.get_or_none('/v1/containers/%s' % path_id(ident)) if ident else None
            names[ident] = set([ident]) | (set([dep.get('name')]) if dep else set())
        left = list(have)
        for wname, wcond in want:
            for i, (hid, hcond) in enumerate(left):
                if hcond == wcond and wname in names[hid]:
                    del left[i]
                    break
            else:
                return False
        return True

    def mutable_differences(self, c):
        """The PATCH body for cpu, memory_mib and restart_policy, or {}."""
        p = self.p
        patch = {}
        if p['cpu'] is not None and float(c.get('cpu') or 0) != float(p['cpu']):
            patch['cpu'] = p['cpu']
        if p['memory_mib'] is not None and int(c.get('memory_mib') or 0) != p['memory_mib']:
            patch['memory_mib'] = str(p['memory_mib'])
        if p['restart_policy'] is not None:
            have = c.get('restart_policy') or {}
            want = self.restart_policy()
            if (have.get('mode') or 'MODE_UNSPECIFIED') != want.get('mode', 'MODE_UNSPECIFIED') \
                    or int(have.get('max_retries') or 0) != want.get('max_retries', 0):
                patch['restart_policy'] = want
        return patch

    # --- calls ----------------------------------------------------------------

    def get(self, ident):
        c = self.cm.client.get_or_none('/v1/containers/%s' % path_id(ident))
        return normalize_container(c) if c is not None else None

    def action(self, c, name, body=None):
        self.actions.append(name)
        out = self.cm.client.call('POST', '/v1/containers/%s:%s' % (path_id(c['id']), name), body=body or {})
        return normalize_container(out)

    def stop_body(self):
        if self.p['stop_timeout'] is None:
            return {}
        return dict(timeout='%ds' % self.p['stop_timeout'])

    def wait_ready(self, c):
        """With wait, until a started container is ready (one with a
        healthcheck or a ready probe) or running."""
        if not self.p['wait'] or self.cm.check_mode:
            return c
        cond = 'CONDITION_READY' if (c.get('healthcheck') or c.get('ready_probe')) else 'CONDITION_RUNNING'
        if cond == 'CONDITION_RUNNING' and c.get('state') in RUNNING:
            return c
        if cond == 'CONDITION_READY' and c.get('ready'):
            return c
        out = self.cm.client.call('POST', '/v1/containers/%s:wait' % path_id(c['id']),
                                  body=dict(condition=cond), timeout=self.p['timeout'])
        return normalize_container(out)

    def wait_create(self, c):
        """A container still being created (an earlier create without wait,
        or one waiting for its dependencies): waits for its operation."""
        op_id = c.get('operation')
        if c.get('state') != 'STATE_CREATING' and not op_id:
            return c
        if not op_id or self.cm.check_mode:
            return c
        self.cm.client.wait_operation({'id': op_id}, self.p['timeout'])
        return self.get(c['id']) or c

    def delete(self, c, force):
        """Deletes c (stopping it first unless force); waits with wait."""
        p = self.p
        if not force and c.get('state') in ('STATE_RUNNING', 'STATE_PAUSED', 'STATE_RESTARTING'):
            try:
                c = self.action(c, 'stop', self.stop_body())
            except CanopyError as e:
                if not e.not_found:
                    raise
                return None  # auto_remove: stopping removed it
        self.actions.append('delete')
        try:
            self.cm.client.call('DELETE', '/v1/containers/%s' % path_id(c['id']),
                                query={'force': True} if force else None)
        except CanopyError as e:
            if not e.not_found:
                raise
            return None
        if p['wait']:
            try:
                self.cm.client.call('POST', '/v1/containers/%s:wait' % path_id(c['id']),
                                    body=dict(condition='CONDITION_DELETED'), timeout=p['timeout'])
            except CanopyError as e:
                if not e.not_found:
                    raise
        return None

    def create(self):
        cm, p = self.cm, self.p
        if not p['image']:
            raise CanopyError('canopy rejected field image: required to create container %s' % p['name'])
        body = self.body()
        identity = self.identity()
        self.actions.append('create')
        if p['state'] == 'paused':
            self.actions.append('pause')
        if cm.check_mode:
            predicted = dict((k, v) for k, v in body.items() if k != 'run')
            predicted['state'] = {'started': 'STATE_RUNNING', 'restarted': 'STATE_RUNNING',
                                  'paused': 'STATE_PAUSED'}.get(p['state'], 'STATE_CREATED')
            self.extra['request_id'] = cm.request_id(identity)
            return None, predicted

        def create(rid):
            return cm.client.call('POST', '/v1/containers', body=dict(body, request_id=rid))

        def still_exists(op):
            # A replayed request_id answers with the first attempt's
            # operation. When that one has ended and its container is gone
            # (deleted since, or removed when the create failed), this run
            # is a new create: the next generation of the id.
            if not op.get('done'):
                return True
            target = (op.get('metadata') or {}).get('target_id')
            return bool(target) and cm.client.get_or_none('/v1/containers/%s' % path_id(target)) is not None

        op, rid = cm.create_idempotent(create, still_exists, identity)
        self.extra['request_id'] = rid
        target = (op.get('metadata') or {}).get('target_id')
        if p['wait'] or p['state'] == 'paused':
            try:
                op = cm.client.wait_operation(op, p['timeout'])
            except CanopyError as e:
                raise CanopyError('creating container %s (image %s): %s' % (p['name'], p['image'], e.message),
                                  status=e.status, code=e.code, details=e.details)
        self.extra['operation'] = op
        c = self.get(target) if target else None
        if c is not None and p['state'] == 'paused':
            c = self.action(c, 'pause')
            self.actions.remove('pause')  # already listed
        return c, c

    # --- the task ---------------------------------------------------------------

    def run(self):
        cm, p = self.cm, self.p
        c = cm.find('containers', 'containers', p['name'])
        c = normalize_container(c) if c is not None else None
        before = c

        if p['state'] == 'absent':
            if c is None:
                self.exit(False, None, before)
            if not cm.check_mode:
                self.delete(c, p['force'])
            else:
                if not p['force'] and c.get('state') in ('STATE_RUNNING', 'STATE_PAUSED', 'STATE_RESTARTING'):
                    self.actions.append('stop')
                self.actions.append('delete')
            self.exit(True, None, before)

        if c is not None:
            diffs = self.immutable_differences(c)
            if diffs:
                names = ', '.join(sorted(diffs))
                self.extra['differences'] = diffs
                if not p['recreate']:
                    cm.module.fail_json(
                        msg='container %s (%s) exists with a different %s, which canopy cannot change on an '
                            'existing container; set recreate: true to replace it, or delete it first'
                            % (p['name'], c.get('id'), names),
                        differences=diffs, container=c)
                if cm.check_mode:
                    self.actions.append('delete')
                else:
                    self.delete(c, True)
                c = None

        if c is None:
            c, predicted = self.create()
            self.exit(True, c if c is not None else (predicted if cm.check_mode else None), before)

        if p['wait'] and not cm.check_mode and p['state'] != 'present':
            c = self.wait_create(c)

        patch = self.mutable_differences(c)
        if patch:
            self.actions.append('update')
            if cm.check_mode:
                c = dict(c, **patch)
                if 'memory_mib' in patch:
                    c['memory_mib'] = p['memory_mib']
            else:
                c = normalize_container(cm.client.call('PATCH', '/v1/containers/%s' % path_id(c['id']), body=patch))

        c = self.converge(c)
        self.exit(bool(self.actions), c, before)

    def converge(self, c):
        """Brings c to the power state asked for."""
        p = self.p
        st = c.get('state')
        want = p['state']
        if want == 'present':
            return c
        if st in ('STATE_ERROR', 'STATE_UNKNOWN', 'STATE_DELETING') and want != 'stopped':
            raise CanopyError('container %s (%s) is %s: %s; delete it (state: absent) or use recreate: true'
                              % (p['name'], c.get('id'), st[len('STATE_'):],
                                 c.get('status_message') or c.get('provider_status') or 'no reason given'))
        steps = []
        if want == 'started':
            if st == 'STATE_PAUSED':
                steps = ['unpause']
            elif st not in RUNNING and st != 'STATE_CREATING':
                steps = ['start']
        elif want == 'stopped':
            if st in ('STATE_RUNNING', 'STATE_PAUSED', 'STATE_RESTARTING'):
                steps = ['stop']
        elif want == 'restarted':
            steps = ['unpause', 'restart'] if st == 'STATE_PAUSED' else ['restart']
        elif want == 'paused':
            if st in ('STATE_CREATED', 'STATE_STOPPED', 'STATE_DEAD'):
                steps = ['start', 'pause']
            elif st != 'STATE_PAUSED':
                steps = ['pause']
        final = dict(started='STATE_RUNNING', restarted='STATE_RUNNING', stopped='STATE_STOPPED',
                     paused='STATE_PAUSED')[want]
        if self.cm.check_mode:
            self.actions.extend(steps)
            return dict(c, state=final) if steps else c
        for step in steps:
            body = self.stop_body() if step in ('stop', 'restart') else {}
            c = self.action(c, step, body)
        if want in ('started', 'restarted') and (steps or not c.get('ready')):
            c = self.wait_ready(c)
        return c

    def exit(self, changed, c, before):
        diff = dict(before=before or {}, after=c or {})
        self.cm.exit(changed, c, diff=diff, actions=self.actions, **self.extra)


if __name__ == '__main__':
    main()
