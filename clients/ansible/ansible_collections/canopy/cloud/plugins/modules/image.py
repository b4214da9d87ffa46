#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: image
short_description: Upload, share or delete an image on any cloud canopy fronts
version_added: 0.1.0
description:
  - Uploads a local file as an image, by name and location, through canopyd's
    byte endpoint (C(POST /v1/images:upload)) with its sha256 in
    C(X-Canopy-Sha256), which canopy checks before the image is made.
    The counterpart of C(openstack.cloud.image).
  - Idempotent by name, location and sha256. An image of that name whose
    recorded sha256 differs from O(filename)'s fails the task (delete it
    first with O(state=absent) to replace it).
  - An uploaded image belongs to the caller's canopy project. O(visibility)
    and O(shared_projects) say who else may see and use it, as Glance's
    visibility and members do; on an existing image they are changed in
    place (C(PATCH /v1/images/{id})).
  - O(state=absent) deletes the image at its cloud (C(DELETE /v1/images/{id}));
    only the project that uploaded it (or an admin) may.
  - canopy's upload endpoint takes no C(request_id); a task retried after a
    lost answer finds the first attempt's image by name and sha256 and does
    not upload again (only an upload still in flight could be doubled).
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  name:
    description:
      - The image name.
    type: str
    required: true
  state:
    description:
      - V(present) uploads the image if there is none by that name, and sets
        its sharing; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  filename:
    description:
      - The image file to upload. Required with O(state=present).
    type: path
  disk_format:
    description:
      - Disk format. Required with O(state=present).
    type: str
    choices: [raw, qcow2, vmdk, vdi, iso, vhd, vhdx, ami]
  container_format:
    description:
      - Container format.
    type: str
    default: bare
    choices: [bare, ovf, ova, docker, ami]
  min_disk:
    description:
      - Smallest root disk the image needs, GiB.
    type: int
  min_ram:
    description:
      - Smallest memory the image needs, MiB.
    type: int
  visibility:
    description:
      - Who besides the caller's project may see and use the image.
      - Unset, a new image is V(private) and an existing one keeps its own.
    type: str
    choices: [private, shared, public]
  shared_projects:
    description:
      - With O(visibility=shared), the projects it is shared with (the whole
        list; projects not in it lose access).
    type: list
    elements: str
'''

EXAMPLES = r'''
- name: Upload cirros to the east cloud
  canopy.cloud.image:
    name: cirros
    cloud: east
    filename: /srv/images/cirros.qcow2
    disk_format: qcow2

- name: Share it with the web team's project
  canopy.cloud.image:
    name: cirros
    cloud: east
    filename: /srv/images/cirros.qcow2
    disk_format: qcow2
    visibility: shared
    shared_projects: [web]

- name: Delete it
  canopy.cloud.image:
    name: cirros
    cloud: east
    state: absent
'''

RETURN = r'''
image:
  description: The image (null once deleted, or when it was absent already).
  returned: always
  type: dict
  sample:
    id: 0508c52d-88fe-58f6-a4bf-35fdf380fc9a
    name: cirros
    status: STATUS_ACTIVE
    size_bytes: 21430272
    visibility: VISIBILITY_PRIVATE
    location: {cloud: east, project: default}
    properties: {sha256: 5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03}
sha256:
  description: The sha256 of O(filename).
  returned: with O(state=present)
  type: str
'''

import json
import os

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import (
    CanopyError, CanopyModule, normalize, path_id, sha256_file)


def main():
    cm = CanopyModule('image', dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        filename=dict(type='path'),
        disk_format=dict(type='str', choices=['raw', 'qcow2', 'vmdk', 'vdi', 'iso', 'vhd', 'vhdx', 'ami']),
        container_format=dict(type='str', default='bare', choices=['bare', 'ovf', 'ova', 'docker', 'ami']),
        min_disk=dict(type='int'),
        min_ram=dict(type='int'),
        visibility=dict(type='str', choices=['private', 'shared', 'public']),
        shared_projects=dict(type='list', elements='str'),
    ), supports_check_mode=True, required_if=[('state', 'present', ('filename', 'disk_format'))],
        field_options={'image.visibility': 'visibility', 'image.shared_projects': 'shared_projects'})
    cm.run(lambda: run(cm))


def recorded_sha256(image):
    props = image.get('properties') or {}
    return (props.get('sha256') or (props.get('os_hash_value') if props.get('os_hash_algo') == 'sha256' else '') or '').lower()


def sharing(image):
    return dict(visibility=image.get('visibility') or 'VISIBILITY_UNSPECIFIED',
                shared_projects=sorted(image.get('shared_projects') or []))


def wanted_sharing(p, have):
    # What the task asks for, from what the image has: unset options keep
    # the image's own; a visibility other than shared has no projects.
    want = dict(have)
    if p['visibility']:
        want['visibility'] = 'VISIBILITY_' + p['visibility'].upper()
        if p['visibility'] != 'shared':
            want['shared_projects'] = []
    if p['shared_projects'] is not None:
        want['shared_projects'] = sorted(p['shared_projects'])
    return want


def run(cm):
    p = cm.params
    image = cm.find('images', 'images', p['name'])

    if p['state'] == 'absent':
        if image is None:
            cm.exit(False, None)
        if not cm.check_mode:
            cm.client.call('DELETE', '/v1/images/%s' % path_id(image['id']), query={'allow_missing': True})
        cm.exit(True, None, diff=dict(before=image, after={}))

    if not os.path.isfile(p['filename']):
        raise CanopyError('filename: %s is not a readable file' % p['filename'])
    sha = sha256_file(p['filename'])
    if image is not None:
        have = recorded_sha256(image)
        if have and have != sha:
            raise CanopyError('image %s (%s) exists with sha256 %s, not %s: delete it first (state=absent) '
                              'or upload under another name' % (p['name'], image['id'], have, sha))
        if not have:
            cm.module.warn('image %s exists without a recorded sha256; not compared with %s'
                           % (p['name'], p['filename']))
        before = sharing(image)
        want = wanted_sharing(p, before)
        if want == before:
            cm.exit(False, image, sha256=sha)
        after = dict(image, **want)
        if not cm.check_mode:
            body = dict(image=dict(want), update_mask='visibility,sharedProjects')
            after = cm.client.call('PATCH', '/v1/images/%s' % path_id(image['id']), body=body)
        cm.exit(True, after, diff=dict(before=before, after=want), sha256=sha)

    size = os.path.getsize(p['filename'])
    want = wanted_sharing(p, dict(visibility='VISIBILITY_PRIVATE', shared_projects=[]))
    if cm.check_mode:
        cm.exit(True, None, diff=dict(before={}, after=dict(want, name=p['name'], size_bytes=size)), sha256=sha)
    query = dict(name=p['name'], disk_format=p['disk_format'], container_format=p['container_format'],
                 min_disk_gib=p['min_disk'], min_ram_mib=p['min_ram'], wait=p['wait'],
                 visibility=want['visibility'], shared_projects=want['shared_projects'])
    for k in ('cloud', 'region', 'zone'):
        if p[k]:
            query['location.' + k] = p[k]
    headers = {'Content-Type': 'application/octet-stream', 'X-Canopy-Sha256': sha,
               'Content-Length': str(size), 'Accept': 'application/json'}
    with open(p['filename'], 'rb') as f:
        resp = cm.client.raw('POST', '/v1/images:upload', query=query, data=f, headers=headers)
    image = normalize(json.loads(resp.read()))
    if p['wait'] and image.get('status') == 'STATUS_ERROR':
        raise CanopyError('image %s (%s) is in ERROR' % (p['name'], image.get('id')))
    cm.exit(True, image, diff=dict(before={}, after=image), sha256=sha)


if __name__ == '__main__':
    main()
