#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: server_action
short_description: Start, stop or reboot a server in any cloud canopy fronts
version_added: 0.1.0
description:
  - Starts, stops or reboots a server. The counterpart of
    C(openstack.cloud.server_action) for the actions canopy has (C(start),
    C(stop), C(reboot)); canopy has no pause, suspend, lock, shelve, rebuild
    or resize yet.
  - V(start) on an active server and V(stop) on a stopped one change nothing.
    V(reboot) always reboots (and reports a change).
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  server:
    description:
      - The server, by name (with the location to choose among servers of
        the same name) or canopy id.
    type: str
    required: true
    aliases: [name]
  action:
    description:
      - What to do.
    type: str
    required: true
    choices: [start, stop, reboot]
  hard:
    description:
      - With V(reboot), power-cycle instead of a soft reboot.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Stop web1 and wait until it is stopped
  canopy.cloud.server_action:
    server: web1
    cloud: east
    action: stop

- name: Hard reboot
  canopy.cloud.server_action:
    server: web1
    cloud: east
    action: reboot
    hard: true
'''

RETURN = r'''
server:
  description: The server after the action (when waiting, in its final state).
  returned: always
  type: dict
  sample:
    id: c1b4d220-bcc4-4c4a-9f05-80a89ee8cf48
    name: web1
    status: STATUS_STOPPED
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import (
    CanopyError, CanopyModule, path_id)

# The status each action ends in; a server already there needs nothing.
TARGET = dict(start='STATUS_ACTIVE', stop='STATUS_STOPPED')


def main():
    cm = CanopyModule('server', dict(
        server=dict(type='str', required=True, aliases=['name']),
        action=dict(type='str', required=True, choices=['start', 'stop', 'reboot']),
        hard=dict(type='bool', default=False),
    ), supports_check_mode=True)
    cm.run(lambda: run(cm))


def lookup(cm):
    p = cm.params
    server = cm.find('servers', 'servers', p['server'])
    if server is None:
        server = cm.client.get_or_none('/v1/servers/%s' % path_id(p['server']))
    if server is None:
        raise CanopyError('server %s not found' % p['server'])
    return server


def run(cm):
    p = cm.params
    server = lookup(cm)
    action = p['action']
    if TARGET.get(action) == server.get('status'):
        cm.exit(False, server)
    predicted = dict(server, status=TARGET.get(action, 'STATUS_ACTIVE'))
    if cm.check_mode:
        cm.exit(True, server, diff=dict(before=dict(status=server.get('status')),
                                        after=dict(status=predicted['status'])))
    body = dict(wait=p['wait'])
    if action == 'reboot':
        body['hard'] = p['hard']
    after = cm.client.call('POST', '/v1/servers/%s:%s' % (path_id(server['id']), action), body=body)
    cm.exit(True, after, diff=dict(before=dict(status=server.get('status')),
                                   after=dict(status=after.get('status'))))


if __name__ == '__main__':
    main()
