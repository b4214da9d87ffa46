#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: keypair
short_description: Register or remove an SSH keypair in any cloud canopy fronts
version_added: 0.1.0
description:
  - Imports a public key, or has canopy generate a keypair, under a name in a
    cloud; or removes it. The counterpart of C(openstack.cloud.keypair).
  - A generated keypair's private key is returned once, by the task that
    created it; canopy never stores it.
  - A keypair that exists with a different public key fails the task (as
    C(openstack.cloud.keypair) does); delete it first to replace it.
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  name:
    description:
      - The keypair name; with the location it identifies the keypair.
      - The create's C(request_id) is a UUIDv5 of the module name, O(name),
        O(cloud), O(region), O(zone), the public key and O(type).
    type: str
    required: true
  state:
    description:
      - V(present) makes sure the keypair exists, V(absent) that it does not.
    type: str
    choices: [present, absent]
    default: present
  public_key:
    description:
      - An OpenSSH public key to import. Without it (and O(public_key_file))
        canopy generates a keypair.
    type: str
  public_key_file:
    description:
      - A file holding the public key to import.
    type: path
  type:
    description:
      - The type of a generated key.
    type: str
    choices: [ssh-ed25519, ssh-rsa]
'''

EXAMPLES = r'''
- name: Import my key into the east cloud
  canopy.cloud.keypair:
    name: deploy
    cloud: east
    public_key_file: ~/.ssh/id_ed25519.pub

- name: Have canopy generate one and keep the private half
  canopy.cloud.keypair:
    name: ci
    cloud: west
  register: kp
'''

RETURN = r'''
keypair:
  description: The keypair; C(private_key) is set only when this task generated it.
  returned: always
  type: dict
  sample:
    id: 48c0fa6b-ad14-4d70-a2a1-71f5daa62a08
    name: deploy
    fingerprint: '32:82:da:fa:30:c3:dc:5d:20:f8:09:8d:48:89:eb:b9'
    type: ssh-ed25519
request_id:
  description: The idempotency key the create sent.
  returned: when a keypair was created
  type: str
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import (
    CanopyError, CanopyModule, path_id)


def key_body(public_key):
    """The type and base64 parts of an OpenSSH key, without the comment."""
    return ' '.join((public_key or '').split()[:2])


def main():
    cm = CanopyModule('keypair', dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        public_key=dict(type='str', no_log=False),
        public_key_file=dict(type='path'),
        type=dict(type='str', choices=['ssh-ed25519', 'ssh-rsa']),
    ), supports_check_mode=True, mutually_exclusive=[('public_key', 'public_key_file')])
    cm.run(lambda: run(cm))


def run(cm):
    p = cm.params
    public_key = p['public_key']
    if p['public_key_file']:
        try:
            with open(p['public_key_file']) as f:
                public_key = f.read().strip()
        except (IOError, OSError) as e:
            raise CanopyError('public_key_file: %s' % e)
    kp = cm.find('keypairs', 'keypairs', p['name'])

    if p['state'] == 'absent':
        if kp is None:
            cm.exit(False, None)
        if not cm.check_mode:
            cm.client.call('DELETE', '/v1/keypairs/%s' % path_id(kp['id']))
        cm.exit(True, None, diff=dict(before=kp, after={}))

    if kp is not None:
        if public_key and key_body(kp.get('public_key')) != key_body(public_key):
            raise CanopyError('keypair %s exists with a different public key (fingerprint %s); '
                              'delete it first to replace it' % (p['name'], kp.get('fingerprint')))
        cm.exit(False, kp)

    loc = dict((k, p[k]) for k in ('cloud', 'region', 'zone') if p[k])
    body = dict(name=p['name'])
    if loc:
        body['location'] = loc
    if public_key:
        body['public_key'] = public_key
    if p['type']:
        body['type'] = p['type']
    identity = dict(name=p['name'], cloud=p['cloud'], region=p['region'], zone=p['zone'],
                    public_key=key_body(public_key), type=p['type'])
    if cm.check_mode:
        cm.exit(True, None, diff=dict(before={}, after=dict(name=p['name'], location=loc)),
                request_id=cm.request_id(identity))

    def create(rid):
        return cm.client.call('POST', '/v1/keypairs', body=dict(body, request_id=rid))

    def still_exists(k):
        return cm.client.get_or_none('/v1/keypairs/%s' % path_id(k['id'])) is not None

    kp, rid = cm.create_idempotent(create, still_exists, identity)
    shown = dict(kp)
    shown.pop('private_key', None)
    cm.exit(True, kp, diff=dict(before={}, after=shown), request_id=rid)


if __name__ == '__main__':
    main()
