#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: server_volume
short_description: Attach a volume to a server, or detach it, in any cloud canopy fronts
version_added: 0.1.0
description:
  - Attaches a volume to a server (V(present)) or detaches it (V(absent)).
    The counterpart of C(openstack.cloud.server_volume).
  - Idempotent by the volume's attachments; attach and detach are durable
    canopy operations, waited for with O(wait).
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  server:
    description:
      - The server, by name (in the location) or canopy id.
    type: str
    required: true
  volume:
    description:
      - The volume, by name (in the location) or canopy id.
    type: str
    required: true
  state:
    description:
      - V(present) attaches, V(absent) detaches.
    type: str
    choices: [present, absent]
    default: present
'''

EXAMPLES = r'''
- name: Attach data to web1
  canopy.cloud.server_volume:
    server: web1
    volume: data
    cloud: west

- name: Detach it
  canopy.cloud.server_volume:
    server: web1
    volume: data
    cloud: west
    state: absent
'''

RETURN = r'''
volume:
  description: The volume with its attachments.
  returned: always
  type: dict
  sample:
    id: f0bcc7cc-8bf2-41de-8115-ff809562bd72
    attachments: [{server_id: e2a3148d-ff6b-4181-bc6f-c0be0bc45cbf, device: /dev/vdb}]
operation:
  description: The canopy operation that made the change.
  returned: when something changed (not in check mode)
  type: dict
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import (
    CanopyError, CanopyModule, path_id)


def main():
    cm = CanopyModule('volume', dict(
        server=dict(type='str', required=True),
        volume=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    ), supports_check_mode=True)
    cm.run(lambda: run(cm))


def lookup(cm, collection, ref):
    item = cm.find(collection, collection, ref)
    if item is None:
        item = cm.client.get_or_none('/v1/%s/%s' % (collection, path_id(ref)))
    if item is None:
        raise CanopyError('canopy rejected field %s: %s not found' % (collection[:-1], ref))
    return item


def run(cm):
    p = cm.params
    server = lookup(cm, 'servers', p['server'])
    vol = lookup(cm, 'volumes', p['volume'])
    attached = any(a.get('server_id') == server['id'] for a in vol.get('attachments') or [])
    want = p['state'] == 'present'
    if attached == want:
        cm.exit(False, vol)
    if want:
        after = dict(vol, attachments=(vol.get('attachments') or []) + [dict(server_id=server['id'])])
    else:
        after = dict(vol, attachments=[a for a in vol.get('attachments') or [] if a.get('server_id') != server['id']])
    if cm.check_mode:
        cm.exit(True, vol, diff=dict(before=dict(attachments=vol.get('attachments') or []),
                                     after=dict(attachments=after['attachments'])))
    op = cm.client.call('POST', '/v1/volumes/%s:%s' % (path_id(vol['id']), 'attach' if want else 'detach'),
                        body=dict(server=server['id']))
    if p['wait']:
        op = cm.client.wait_operation(op, p['timeout'])
    new = cm.client.get('/v1/volumes/%s' % path_id(vol['id']))
    cm.exit(True, new, diff=dict(before=dict(attachments=vol.get('attachments') or []),
                                 after=dict(attachments=new.get('attachments') or [])), operation=op)


if __name__ == '__main__':
    main()
