#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: server
short_description: Create or delete a server in any cloud canopy fronts
version_added: 0.1.0
description:
  - Creates a server (a virtual machine, or a container on container clouds)
    by name and location, or deletes it. The counterpart of
    C(openstack.cloud.server) for every cloud canopy knows.
  - A create sends a C(request_id) derived from the task's arguments (see
    O(name)), so a task retried after a lost answer never boots a second
    server.
  - canopy has no call that changes an existing server's flavor, image,
    keypair, networks or labels; when they differ from the task the module
    warns and changes nothing. Use M(canopy.cloud.server_action) to start,
    stop or reboot.
  - With O(wait), an existing server that is still booting is waited for.
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  name:
    description:
      - The server name. With O(cloud), O(region) and O(zone) it identifies the
        server; several servers of that name in the location fail the task.
      - The create's C(request_id) is a UUIDv5 of the module name, O(name),
        O(cloud), O(region), O(zone), O(flavor), O(image), O(boot_volume),
        O(keypair), O(networks), O(user_data) and O(labels).
    type: str
    required: true
  state:
    description:
      - V(present) makes sure the server exists, V(absent) that it does not.
    type: str
    choices: [present, absent]
    default: present
  flavor:
    description:
      - The flavor, canopy id or name. Required to create.
    type: str
  image:
    description:
      - The image, canopy id or name. Required to create unless O(boot_volume)
        is set.
    type: str
  boot_volume:
    description:
      - Boot from this volume (canopy id or name) instead of an image.
    type: str
  keypair:
    description:
      - The name of a keypair to inject.
    type: str
  networks:
    description:
      - Networks to attach (names or native ids); empty means the cloud's
        default.
    type: list
    elements: str
  user_data:
    description:
      - Cloud-init user data.
    type: str
  labels:
    description:
      - Labels to set on the server (server metadata or tags in the cloud).
    type: dict
'''

EXAMPLES = r'''
- name: Boot web1 in the east cloud and wait until it is active
  canopy.cloud.server:
    name: web1
    cloud: east
    flavor: m1.small
    image: debian-12
    labels:
      role: web

- name: Delete it
  canopy.cloud.server:
    name: web1
    cloud: east
    state: absent
'''

RETURN = r'''
server:
  description: The server as canopy returns it; C(null) after a delete.
  returned: always
  type: dict
  sample:
    id: c1b4d220-bcc4-4c4a-9f05-80a89ee8cf48
    name: web1
    status: STATUS_ACTIVE
    location: {cloud: east, region: sim-1, zone: east-1a, project: default}
    addresses: [{network: private, ip: 10.0.0.3, version: 4, type: fixed}]
request_id:
  description: The idempotency key the create sent.
  returned: when a server was created
  type: str
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import (
    CanopyError, CanopyModule, path_id)


def differences(cm, server):
    """Task arguments that differ from the existing server (not changeable)."""
    p = cm.params
    out = []
    want_labels = None if p['labels'] is None else dict((k, str(v)) for k, v in p['labels'].items())
    if want_labels is not None and dict(server.get('labels') or {}) != want_labels:
        out.append('labels')
    if p['keypair'] and server.get('keypair') and server['keypair'] != p['keypair']:
        out.append('keypair')
    for opt, field, coll in (('flavor', 'flavor_id', 'flavors'), ('image', 'image_id', 'images')):
        want = p[opt]
        have = server.get(field)
        if not want or not have or want == have:
            continue
        q = {'name': want, 'location': {'cloud': (server.get('location') or {}).get('cloud')}}
        items, dummy = cm.client.list_all('/v1/%s' % coll, coll, query=q)
        if not any(i.get('id') == have for i in items):
            out.append(opt)
    return out


def main():
    cm = CanopyModule('server', dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        flavor=dict(type='str'),
        image=dict(type='str'),
        boot_volume=dict(type='str'),
        keypair=dict(type='str', no_log=False),
        networks=dict(type='list', elements='str'),
        user_data=dict(type='str'),
        labels=dict(type='dict'),
    ), supports_check_mode=True, mutually_exclusive=[('image', 'boot_volume')])
    cm.run(lambda: run(cm))


def run(cm):
    p = cm.params
    server = cm.find('servers', 'servers', p['name'])

    if p['state'] == 'absent':
        if server is None:
            cm.exit(False, None)
        if cm.check_mode:
            cm.exit(True, None, diff=dict(before=server, after={}))
        gone = cm.client.call('DELETE', '/v1/servers/%s' % path_id(server['id']),
                              query={'wait': p['wait'], 'allow_missing': True})
        cm.exit(True, None if p['wait'] else gone, diff=dict(before=server, after={}))

    if server is not None:
        if p['wait'] and not cm.check_mode:
            # A server still booting (say, a create that timed out before)
            # is waited for, as a create would have been.
            server = cm.wait_for('servers', server)
        diffs = differences(cm, server)
        if diffs:
            cm.module.warn('server %s exists and differs in %s, which canopy cannot change on an '
                           'existing server; delete and recreate it to change them'
                           % (p['name'], ', '.join(diffs)))
        cm.exit(False, server)

    if not p['flavor']:
        raise CanopyError('canopy rejected field flavor: required to create server %s' % p['name'])
    if not p['image'] and not p['boot_volume']:
        raise CanopyError('canopy rejected field image: required to create server %s '
                          '(or set boot_volume)' % p['name'])
    loc = dict((k, p[k]) for k in ('cloud', 'region', 'zone') if p[k])
    body = dict(name=p['name'], flavor=p['flavor'], wait=p['wait'])
    if loc:
        body['location'] = loc
    for k in ('image', 'boot_volume', 'keypair'):
        if p[k]:
            body[k] = p[k]
    if p['networks']:
        body['networks'] = p['networks']
    if p['labels']:
        body['labels'] = dict((k, str(v)) for k, v in p['labels'].items())
    if p['user_data']:
        import base64
        body['user_data'] = base64.b64encode(p['user_data'].encode('utf-8')).decode('ascii')
    identity = dict((k, p[k]) for k in ('name', 'cloud', 'region', 'zone', 'flavor', 'image',
                                        'boot_volume', 'keypair', 'networks', 'user_data', 'labels'))
    if cm.check_mode:
        predicted = dict(name=p['name'], location=loc, labels=body.get('labels', {}))
        cm.exit(True, None, diff=dict(before={}, after=predicted),
                request_id=cm.request_id(identity))

    def create(rid):
        b = dict(body, request_id=rid)
        return cm.client.call('POST', '/v1/servers', body=b)

    def still_exists(s):
        if s.get('status') == 'STATUS_DELETED':
            return False
        return cm.client.get_or_none('/v1/servers/%s' % path_id(s['id'])) is not None

    server, rid = cm.create_idempotent(create, still_exists, identity)
    if p['wait'] and server.get('status') == 'STATUS_ERROR':
        raise CanopyError('server %s (%s) is in ERROR: %s' % (
            p['name'], server.get('id'), server.get('status_message') or server.get('provider_status')))
    cm.exit(True, server, diff=dict(before={}, after=server), request_id=rid)


if __name__ == '__main__':
    main()
