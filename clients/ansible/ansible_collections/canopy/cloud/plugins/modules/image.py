#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: image
short_description: Upload an image to any cloud canopy fronts
version_added: 0.1.0
description:
  - Uploads a local file as an image, by name and location, through canopyd's
    byte endpoint (C(POST /v1/images:upload)) with its sha256 in
    C(X-Canopy-Sha256), which canopy checks before the image is made.
    The counterpart of C(openstack.cloud.image) for uploads.
  - Idempotent by name, location and sha256. An image of that name whose
    recorded sha256 differs from O(filename)'s fails the task; canopy has no
    call to replace or delete an image yet (ComputeService has no
    DeleteImage), so there is no O(state=absent).
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
      - Only V(present); see the description.
    type: str
    choices: [present]
    default: present
  filename:
    description:
      - The image file to upload.
    type: path
    required: true
  disk_format:
    description:
      - Disk format.
    type: str
    required: true
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
'''

EXAMPLES = r'''
- name: Upload cirros to the east cloud
  canopy.cloud.image:
    name: cirros
    cloud: east
    filename: /srv/images/cirros.qcow2
    disk_format: qcow2
'''

RETURN = r'''
image:
  description: The image.
  returned: always
  type: dict
  sample:
    id: 0508c52d-88fe-58f6-a4bf-35fdf380fc9a
    name: cirros
    status: STATUS_ACTIVE
    size_bytes: 21430272
    properties: {sha256: 5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03}
sha256:
  description: The sha256 of O(filename).
  returned: always
  type: str
'''

import json
import os

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import (
    CanopyError, CanopyModule, normalize, sha256_file)


def main():
    cm = CanopyModule('image', dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present']),
        filename=dict(type='path', required=True),
        disk_format=dict(type='str', required=True,
                         choices=['raw', 'qcow2', 'vmdk', 'vdi', 'iso', 'vhd', 'vhdx', 'ami']),
        container_format=dict(type='str', default='bare', choices=['bare', 'ovf', 'ova', 'docker', 'ami']),
        min_disk=dict(type='int'),
        min_ram=dict(type='int'),
    ), supports_check_mode=True)
    cm.run(lambda: run(cm))


def recorded_sha256(image):
    props = image.get('properties') or {}
    return (props.get('sha256') or (props.get('os_hash_value') if props.get('os_hash_algo') == 'sha256' else '') or '').lower()


def run(cm):
    p = cm.params
    if not os.path.isfile(p['filename']):
        raise CanopyError('filename: %s is not a readable file' % p['filename'])
    sha = sha256_file(p['filename'])
    image = cm.find('images', 'images', p['name'])
    if image is not None:
        have = recorded_sha256(image)
        if have and have != sha:
            raise CanopyError('image %s (%s) exists with sha256 %s, not %s; canopy cannot replace or delete '
                              'an image yet: upload under another name' % (p['name'], image['id'], have, sha))
        if not have:
            cm.module.warn('image %s exists without a recorded sha256; not compared with %s'
                           % (p['name'], p['filename']))
        cm.exit(False, image, sha256=sha)
    size = os.path.getsize(p['filename'])
    if cm.check_mode:
        cm.exit(True, None, diff=dict(before={}, after=dict(name=p['name'], size_bytes=size)), sha256=sha)
    query = dict(name=p['name'], disk_format=p['disk_format'], container_format=p['container_format'],
                 min_disk_gib=p['min_disk'], min_ram_mib=p['min_ram'], wait=p['wait'])
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
