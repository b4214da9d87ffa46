#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: volume
short_description: Create, extend or delete a block storage volume in any cloud canopy fronts
version_added: 0.1.0
description:
  - Creates a volume (empty, from an image, from a snapshot, or restored from
    a backup) by name and location, extends it when O(size) grows, or deletes
    it. The counterpart
    of C(openstack.cloud.volume).
  - Every change is a durable canopy operation; with O(wait) the module waits
    for it (C(POST /v1/operations/{id}:wait)), else it returns the operation
    under RV(operation).
  - Volumes only grow; a smaller O(size) than the volume's fails, naming
    O(size). Other attributes of an existing volume cannot be changed; when
    they differ the module warns.
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  name:
    description:
      - The volume name; with the location it identifies the volume.
      - The create's C(request_id) is a UUIDv5 of the module name, O(name),
        O(cloud), O(region), O(zone), O(size), O(volume_type), O(description),
        O(image), O(snapshot), O(backup) and O(labels).
    type: str
    required: true
  state:
    description:
      - V(present) makes sure the volume exists, V(absent) that it does not.
    type: str
    choices: [present, absent]
    default: present
  size:
    description:
      - Size in GiB. Required to create (unless O(image) or O(snapshot)
        decides it); a larger size than the volume's extends it.
    type: int
  volume_type:
    description:
      - The cloud's volume type.
    type: str
  description:
    description:
      - A description.
    type: str
  image:
    description:
      - Create the volume from this image (canopy id or name).
    type: str
  snapshot:
    description:
      - Create the volume from this snapshot (canopy id or name).
    type: str
  backup:
    description:
      - Create the volume by restoring this backup (canopy id or name;
        C(POST /v1/backups/{id}:restore)). The backup's cloud decides where;
        O(zone) chooses the zone in it. O(volume_type), O(description) and
        O(image) do not apply.
    type: str
  labels:
    description:
      - Labels to set on a new volume.
    type: dict
'''

EXAMPLES = r'''
- name: A 10 GiB data volume in zone west-1a
  canopy.cloud.volume:
    name: data
    zone: west-1a
    size: 10

- name: Grow it to 20 GiB
  canopy.cloud.volume:
    name: data
    zone: west-1a
    size: 20

- name: Delete it
  canopy.cloud.volume:
    name: data
    zone: west-1a
    state: absent
'''

RETURN = r'''
volume:
  description: The volume; C(null) after a delete.
  returned: always
  type: dict
  sample:
    id: 4eaacd8c-6e8a-4380-a0e6-8941a0c44c22
    name: data
    size_gib: 10
    status: STATUS_ACTIVE
operation:
  description: The canopy operation that made the change.
  returned: when something changed (not in check mode)
  type: dict
request_id:
  description: The idempotency key the create sent.
  returned: when a volume was created
  type: str
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import (
    CanopyError, CanopyModule, path_id)


def main():
    cm = CanopyModule('volume', dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        size=dict(type='int'),
        volume_type=dict(type='str'),
        description=dict(type='str'),
        image=dict(type='str'),
        snapshot=dict(type='str'),
        backup=dict(type='str'),
        labels=dict(type='dict'),
    ), supports_check_mode=True, mutually_exclusive=[('image', 'snapshot', 'backup')],
        field_options=dict(size_gib='size'))
    cm.run(lambda: run(cm))


def finish(cm, op, volume_id):
    """Waits for op when asked; returns (volume, op)."""
    p = cm.params
    if p['wait']:
        op = cm.client.wait_operation(op, p['timeout'])
    vol = cm.client.get_or_none('/v1/volumes/%s' % path_id(volume_id)) if volume_id else None
    return vol, op


def run(cm):
    p = cm.params
    vol = cm.find('volumes', 'volumes', p['name'])

    if p['state'] == 'absent':
        if vol is None:
            cm.exit(False, None)
        if cm.check_mode:
            cm.exit(True, None, diff=dict(before=vol, after={}))
        op = cm.client.call('DELETE', '/v1/volumes/%s' % path_id(vol['id']))
        if p['wait']:
            op = cm.client.wait_operation(op, p['timeout'])
        cm.exit(True, None, diff=dict(before=vol, after={}), operation=op)

    if vol is not None:
        differs = [k for k, f in (('volume_type', 'volume_type'), ('description', 'description'))
                   if p[k] is not None and vol.get(f, '') != p[k]]
        if p['labels'] is not None and dict(vol.get('labels') or {}) != dict((k, str(v)) for k, v in p['labels'].items()):
            differs.append('labels')
        if differs:
            cm.module.warn('volume %s differs in %s, which canopy cannot change on an existing volume'
                           % (p['name'], ', '.join(differs)))
        have = vol.get('size_gib') or 0
        if p['size'] is None or p['size'] == have:
            cm.exit(False, vol)
        if p['size'] < have:
            raise CanopyError('canopy rejected field size: %d GiB is smaller than volume %s (%d GiB); '
                              'volumes only grow' % (p['size'], p['name'], have))
        after = dict(vol, size_gib=p['size'])
        if cm.check_mode:
            cm.exit(True, after, diff=dict(before=vol, after=after))
        op = cm.client.call('POST', '/v1/volumes/%s:extend' % path_id(vol['id']),
                            body=dict(size_gib=p['size']))
        new, op = finish(cm, op, vol['id'])
        cm.exit(True, new, diff=dict(before=vol, after=new or after), operation=op)

    if not p['size'] and not p['image'] and not p['snapshot'] and not p['backup']:
        raise CanopyError('canopy rejected field size: required to create volume %s' % p['name'])
    loc = dict((k, p[k]) for k in ('cloud', 'region', 'zone') if p[k])
    body = dict(name=p['name'])
    if loc:
        body['location'] = loc
    if p['size']:
        body['size_gib'] = p['size']
    for k in ('volume_type', 'description', 'image', 'snapshot'):
        if p[k]:
            body[k] = p[k]
    if p['labels']:
        body['labels'] = dict((k, str(v)) for k, v in p['labels'].items())
    identity = dict((k, p[k]) for k in ('name', 'cloud', 'region', 'zone', 'size', 'volume_type',
                                        'description', 'image', 'snapshot', 'backup', 'labels'))
    path = '/v1/volumes'
    if p['backup']:
        backup = cm.client.get_or_none('/v1/backups/%s' % path_id(p['backup']))
        if backup is None:
            raise CanopyError('canopy rejected field backup: backup %s not found' % p['backup'])
        path = '/v1/backups/%s:restore' % path_id(backup['id'])
        body = dict((k, v) for k, v in body.items() if k in ('name', 'size_gib', 'labels'))
        if p['zone']:
            body['zone'] = p['zone']
    if cm.check_mode:
        predicted = dict(name=p['name'], location=loc, size_gib=p['size'])
        cm.exit(True, None, diff=dict(before={}, after=predicted), request_id=cm.request_id(identity))

    def create(rid):
        return cm.client.call('POST', path, body=dict(body, request_id=rid))

    def still_exists(op):
        # A replayed request_id answers with the first attempt's operation;
        # when that finished and its volume is gone, it made a volume since
        # deleted: this is a new create.
        if not op.get('done') or op.get('error'):
            return True
        target = (op.get('metadata') or {}).get('target_id')
        return bool(target) and cm.client.get_or_none('/v1/volumes/%s' % path_id(target)) is not None

    op, rid = cm.create_idempotent(create, still_exists, identity)
    vol, op = finish(cm, op, (op.get('metadata') or {}).get('target_id'))
    cm.exit(True, vol, diff=dict(before={}, after=vol or {}), operation=op, request_id=rid)


if __name__ == '__main__':
    main()
