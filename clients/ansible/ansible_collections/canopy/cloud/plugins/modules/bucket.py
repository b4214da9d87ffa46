#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: bucket
short_description: Create or delete an object storage bucket in any cloud canopy fronts
version_added: 0.1.0
description:
  - Creates a bucket (an S3 bucket, a Swift container, the simulator's) by
    name and location, or deletes it. The counterpart of
    C(openstack.cloud.object_container).
  - canopy deletes only empty buckets; O(delete_objects) deletes the objects
    first.
  - canopy cannot change an existing bucket's labels; when they differ the
    module warns.
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  name:
    description:
      - The bucket name (the cloud's naming rules apply).
      - The create's C(request_id) is a UUIDv5 of the module name, O(name),
        O(cloud), O(region), O(zone) and O(labels).
    type: str
    required: true
  state:
    description:
      - V(present) makes sure the bucket exists, V(absent) that it does not.
    type: str
    choices: [present, absent]
    default: present
  labels:
    description:
      - Labels, where the cloud can keep them.
    type: dict
  delete_objects:
    description:
      - With O(state=absent), delete every object in the bucket first.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: A bucket for backups in the east cloud
  canopy.cloud.bucket:
    name: backups
    cloud: east

- name: Remove it with everything in it
  canopy.cloud.bucket:
    name: backups
    cloud: east
    state: absent
    delete_objects: true
'''

RETURN = r'''
bucket:
  description: The bucket; C(null) after a delete.
  returned: always
  type: dict
  sample:
    id: 623b4c55-58c5-4a4b-bdb6-735cdac120f0
    name: backups
    location: {cloud: east, region: sim-1, project: default}
    status: STATUS_ACTIVE
deleted_objects:
  description: Keys deleted because of O(delete_objects).
  returned: when O(state=absent)
  type: list
  elements: str
request_id:
  description: The idempotency key the create sent.
  returned: when a bucket was created
  type: str
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import (
    CanopyModule, path_id)


def main():
    cm = CanopyModule('bucket', dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        labels=dict(type='dict'),
        delete_objects=dict(type='bool', default=False),
    ), supports_check_mode=True)
    cm.run(lambda: run(cm))


def run(cm):
    p = cm.params
    bucket = cm.find('buckets', 'buckets', p['name'])

    if p['state'] == 'absent':
        if bucket is None:
            cm.exit(False, None, deleted_objects=[])
        keys = []
        if p['delete_objects']:
            objs, dummy = cm.client.list_all('/v1/buckets/%s/objects' % path_id(bucket['id']), 'objects')
            keys = [o['key'] for o in objs]
        if not cm.check_mode:
            for k in keys:
                cm.client.call('DELETE', '/v1/buckets/%s/objects/%s' % (path_id(bucket['id']), path_id(k)))
            cm.client.call('DELETE', '/v1/buckets/%s' % path_id(bucket['id']))
        cm.exit(True, None, diff=dict(before=bucket, after={}), deleted_objects=keys)

    labels = dict((k, str(v)) for k, v in (p['labels'] or {}).items())
    if bucket is not None:
        if p['labels'] is not None and dict(bucket.get('labels') or {}) != labels:
            cm.module.warn('bucket %s differs in labels, which canopy cannot change on an existing bucket'
                           % p['name'])
        cm.exit(False, bucket)

    loc = dict((k, p[k]) for k in ('cloud', 'region', 'zone') if p[k])
    body = dict(name=p['name'])
    if loc:
        body['location'] = loc
    if labels:
        body['labels'] = labels
    identity = dict(name=p['name'], cloud=p['cloud'], region=p['region'], zone=p['zone'], labels=p['labels'])
    if cm.check_mode:
        cm.exit(True, None, diff=dict(before={}, after=dict(name=p['name'], location=loc)),
                request_id=cm.request_id(identity))

    def create(rid):
        return cm.client.call('POST', '/v1/buckets', body=dict(body, request_id=rid))

    def still_exists(b):
        return cm.client.get_or_none('/v1/buckets/%s' % path_id(b['id'])) is not None

    bucket, rid = cm.create_idempotent(create, still_exists, identity)
    cm.exit(True, bucket, diff=dict(before={}, after=bucket), request_id=rid)


if __name__ == '__main__':
    main()
