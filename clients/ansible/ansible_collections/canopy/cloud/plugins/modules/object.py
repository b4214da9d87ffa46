#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: object
short_description: Put, get or delete an object in a canopy bucket, checked by sha256
version_added: 0.1.0
description:
  - Uploads a file or a string to a bucket of any cloud canopy fronts,
    downloads an object to a file, or deletes an object. The counterpart of
    C(openstack.cloud.object).
  - Idempotent by sha256. An upload is skipped when the object already holds
    the same bytes (its recorded sha256 equals the local one; for objects
    without one, its md5) and the same O(content_type) and O(metadata). A
    download is skipped when O(dest) already holds the object's bytes.
  - Uploads stream through canopyd's byte endpoint
    (C(PUT /v1/buckets/{bucket}/objects/{key})) with the local sha256 in
    C(X-Canopy-Sha256), which canopy checks before the object becomes
    visible. Downloads (C(?alt=media)) are hashed as they are written and
    checked against the sha256 canopy sends; a mismatch leaves O(dest)
    untouched and fails.
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
options:
  bucket:
    description:
      - The bucket, canopy id or name.
    type: str
    required: true
  name:
    description:
      - The object key.
    type: str
    required: true
    aliases: [key]
  state:
    description:
      - V(present) uploads (O(src) or O(content)) or downloads (O(dest));
        V(absent) deletes the object.
    type: str
    choices: [present, absent]
    default: present
  src:
    description:
      - A local file to upload.
    type: path
  content:
    description:
      - A string to upload as the object's bytes (UTF-8).
    type: str
  dest:
    description:
      - A local file to download the object to.
    type: path
  content_type:
    description:
      - The content type of an upload.
    type: str
    default: application/octet-stream
  metadata:
    description:
      - User metadata of an upload.
    type: dict
  mode:
    description:
      - File mode of O(dest), as for M(ansible.builtin.copy).
    type: raw
'''

EXAMPLES = r'''
- name: Upload a disk image
  canopy.cloud.object:
    bucket: backups
    name: 2024/disk.img
    src: /srv/disk.img

- name: Download it elsewhere
  canopy.cloud.object:
    bucket: backups
    name: 2024/disk.img
    dest: /tmp/disk.img

- name: Delete it
  canopy.cloud.object:
    bucket: backups
    name: 2024/disk.img
    state: absent
'''

RETURN = r'''
object:
  description: The object's metadata; C(null) after a delete.
  returned: always
  type: dict
  sample:
    bucket: 623b4c55-58c5-4a4b-bdb6-735cdac120f0
    key: 2024/disk.img
    size_bytes: 6
    sha256: 5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03
sha256:
  description: The sha256 of the bytes uploaded or downloaded.
  returned: when O(src), O(content) or O(dest) is set
  type: str
'''

import hashlib
import json
import os
import tempfile

from ansible.module_utils.common.text.converters import to_bytes
from ansible.module_utils.six.moves.urllib.parse import quote
from ansible_collections.canopy.cloud.plugins.module_utils.canopy import (
    CanopyError, CanopyModule, normalize, path_id, sha256_file)


def object_path(p):
    return '/v1/buckets/%s/objects/%s' % (path_id(p['bucket']), quote(p['name'], safe='/'))


def md5_of(path=None, data=None):
    h = hashlib.md5()  # only to compare with the cloud's ETag of objects without a sha256
    if data is not None:
        h.update(data)
        return h.hexdigest()
    with open(path, 'rb') as f:
        for b in iter(lambda: f.read(1 << 20), b''):
            h.update(b)
    return h.hexdigest()


def same_bytes(obj, sha, md5):
    if obj.get('sha256'):
        return obj['sha256'].lower() == sha
    return bool(obj.get('md5')) and obj['md5'].lower() == md5()


def main():
    cm = CanopyModule('object', dict(
        bucket=dict(type='str', required=True),
        name=dict(type='str', required=True, aliases=['key']),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        src=dict(type='path'),
        content=dict(type='str'),
        dest=dict(type='path'),
        content_type=dict(type='str', default='application/octet-stream'),
        metadata=dict(type='dict'),
        mode=dict(type='raw'),
    ), location=False, supports_check_mode=True,
        mutually_exclusive=[('src', 'content', 'dest')],
        required_if=[('state', 'present', ('src', 'content', 'dest'), True)])
    cm.run(lambda: run(cm))


def run(cm):
    p = cm.params
    obj = cm.client.get_or_none(object_path(p))

    if p['state'] == 'absent':
        if obj is None:
            cm.exit(False, None)
        if not cm.check_mode:
            cm.client.call('DELETE', object_path(p))
        cm.exit(True, None, diff=dict(before=obj, after={}))

    if p['dest']:
        download(cm, obj)
    upload(cm, obj)


def upload(cm, obj):
    p = cm.params
    data = None
    if p['content'] is not None:
        data = to_bytes(p['content'])
        sha = hashlib.sha256(data).hexdigest()
        size = len(data)

        def md5():
            return md5_of(data=data)
    else:
        if not os.path.isfile(p['src']):
            raise CanopyError('src: %s is not a readable file' % p['src'])
        sha = sha256_file(p['src'])
        size = os.path.getsize(p['src'])

        def md5():
            return md5_of(path=p['src'])
    meta = dict((k, str(v)) for k, v in (p['metadata'] or {}).items())
    if obj is not None and same_bytes(obj, sha, md5) and obj.get('content_type') == p['content_type'] \
            and (p['metadata'] is None or dict(obj.get('metadata') or {}) == meta):
        cm.exit(False, obj, sha256=sha)
    before = obj or {}
    after = dict(before, key=p['name'], size_bytes=size, sha256=sha, content_type=p['content_type'])
    if cm.check_mode:
        cm.exit(True, obj, diff=dict(before=before, after=after), sha256=sha)
    headers = {'Content-Type': p['content_type'], 'X-Canopy-Sha256': sha,
               'Content-Length': str(size), 'Accept': 'application/json'}
    for k, v in meta.items():
        headers['X-Canopy-Meta-%s' % k] = v
    if data is not None:
        resp = cm.client.raw('PUT', object_path(p), data=data, headers=headers)
    else:
        with open(p['src'], 'rb') as f:
            resp = cm.client.raw('PUT', object_path(p), data=f, headers=headers)
    new = normalize(json.loads(resp.read()))
    if new.get('sha256') and new['sha256'].lower() != sha:
        raise CanopyError('canopy stored sha256 %s, not the uploaded %s' % (new['sha256'], sha))
    cm.exit(True, new, diff=dict(before=before, after=new), sha256=sha)


def download(cm, obj):
    p = cm.params
    if obj is None:
        raise CanopyError('object %s not found in bucket %s' % (p['name'], p['bucket']))
    dest = p['dest']
    if os.path.isdir(dest):
        dest = os.path.join(dest, os.path.basename(p['name']))
    file_args = cm.module.load_file_common_arguments(dict(path=dest, mode=p['mode']))
    if os.path.isfile(dest):
        have = sha256_file(dest)
        if same_bytes(obj, have, lambda: md5_of(path=dest)):
            changed = cm.module.set_fs_attributes_if_different(file_args, False)
            cm.exit(changed, obj, sha256=have)
    if cm.check_mode:
        cm.exit(True, obj, diff=dict(before=dict(path=dest), after=dict(path=dest, sha256=obj.get('sha256'))))
    resp = cm.client.raw('GET', object_path(p), query={'alt': 'media'})
    want = (resp.headers.get('X-Canopy-Sha256') or obj.get('sha256') or '').lower()
    h = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(dest)) or '.', prefix='.canopy-')
    try:
        with os.fdopen(fd, 'wb') as f:
            while True:
                chunk = resp.read(1 << 20)
                if not chunk:
                    break
                h.update(chunk)
                f.write(chunk)
        got = h.hexdigest()
        if want and got != want:
            raise CanopyError('download of %s/%s: sha256 %s, canopy says %s; %s left untouched'
                              % (p['bucket'], p['name'], got, want, dest))
        cm.module.atomic_move(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    cm.module.set_fs_attributes_if_different(file_args, True)
    cm.exit(True, obj, diff=dict(before=dict(path=dest), after=dict(path=dest, sha256=got)), sha256=got)


if __name__ == '__main__':
    main()
