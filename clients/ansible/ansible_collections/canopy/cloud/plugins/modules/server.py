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
        O(keypair), O(networks), O(user_data) and O(labels), and, when set,
        O(security_groups), O(ports), O(nics) and O(auto_ip).
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
  security_groups:
    description:
      - Security groups (canopy ids or names, of the server's cloud or
        global) for the ports the create makes; unset, the cloud's default.
    type: list
    elements: str
  ports:
    description:
      - Existing ports (canopy ids or names, see M(canopy.cloud.port)) to
        attach, after the ports made on O(networks).
    type: list
    elements: str
  nics:
    description:
      - The networks and ports as C(openstack.cloud.server) takes them, each
        item a network name or id, or a dict with one of C(net-id),
        C(net-name), C(port-id), C(port-name). Added to O(networks) and
        O(ports).
    type: list
    elements: raw
  auto_ip:
    description:
      - Give the server a floating IP from its cloud's external network
        once it is active (canopy's C(auto_ip)). On an existing server that
        has no floating IP, one is allocated and associated (see
        M(canopy.cloud.floating_ip)).
      - Unlike C(openstack.cloud.server), the default is V(false).
    type: bool
    default: false
    aliases: [auto_floating_ip, public_ip]
  delete_ips:
    description:
      - With V(absent), release the server's floating IPs after the server
        is deleted (canopy, like Nova, only frees them).
    type: bool
    default: false
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
floating_ip:
  description: The floating IP allocated for O(auto_ip) on an existing server.
  returned: when one was allocated
  type: dict
operation:
  description: The canopy operation of that allocation.
  returned: when a floating IP was allocated for O(auto_ip) on an existing server
  type: dict
released_ips:
  description: The addresses of the floating IPs O(delete_ips) released.
  returned: when the server was deleted with O(delete_ips)
  type: list
  elements: str
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import (
    CanopyError, CanopyModule, live, path_id)
from ansible_collections.canopy.cloud.plugins.module_utils.network import (
    REALIZATION_LABEL, cloud_of, create, is_global, net_location)


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
        security_groups=dict(type='list', elements='str'),
        ports=dict(type='list', elements='str'),
        nics=dict(type='list', elements='raw'),
        auto_ip=dict(type='bool', default=False, aliases=['auto_floating_ip', 'public_ip']),
        delete_ips=dict(type='bool', default=False),
    ), supports_check_mode=True, mutually_exclusive=[('image', 'boot_volume')])
    cm.run(lambda: run(cm))


def resolve_soft(cm, collection, key, ref, cloud):
    """A network, port or group named ref in cloud (or global) as its canopy
    id, so that canopyd need not resolve a name that other clouds use too;
    anything else (a native id, a name canopy resolves otherwise) as given."""
    items, dummy = cm.client.list_all('/v1/%s' % collection, key, query={'name': ref})
    items = [i for i in items if i.get('name') == ref and live(i)]
    gids = set(i.get('id') for i in items if is_global(i))
    items = [i for i in items if (i.get('labels') or {}).get(REALIZATION_LABEL) not in gids]
    if cloud:
        items = [i for i in items if is_global(i) or cloud_of(i) == cloud]
    return items[0]['id'] if len(items) == 1 else ref


def attachments(cm, cloud):
    """networks, ports and security_groups of the create, from networks,
    ports, nics and security_groups; cloud() is the server's cloud."""
    p = cm.params
    nets = list(p['networks'] or [])
    ports = list(p['ports'] or [])
    for i, nic in enumerate(p['nics'] or []):
        if isinstance(nic, dict):
            keys = [k for k in ('net-id', 'net-name', 'port-id', 'port-name') if nic.get(k)]
            if len(keys) != 1:
                raise CanopyError('canopy rejected field nics[%d]: want one of net-id, net-name, port-id, '
                                  'port-name' % i)
            (ports if keys[0].startswith('port') else nets).append(str(nic[keys[0]]))
        else:
            nets.append(str(nic))
    if not (nets or ports or p['security_groups']):
        return [], [], []
    cloud = cloud()
    nets = [resolve_soft(cm, 'networks', 'networks', n, cloud) for n in nets]
    ports = [resolve_soft(cm, 'ports', 'ports', n, cloud) for n in ports]
    groups = [resolve_soft(cm, 'securityGroups', 'security_groups', g, cloud) for g in p['security_groups'] or []]
    return nets, ports, groups


def server_fips(cm, server):
    items, dummy = cm.client.list_all('/v1/floatingIps', 'floating_ips', query={'server': server['id']})
    return [f for f in items if live(f) and f.get('server_id') == server['id']]


def delete_server(cm, server):
    p = cm.params
    fips = server_fips(cm, server) if p['delete_ips'] else []
    extra = dict(released_ips=[f.get('ip') for f in fips]) if p['delete_ips'] else {}
    if cm.check_mode:
        cm.exit(True, None, diff=dict(before=server, after={}), **extra)
    gone = cm.client.call('DELETE', '/v1/servers/%s' % path_id(server['id']),
                          query={'wait': p['wait'], 'allow_missing': True})
    for f in fips:
        op = cm.client.call('DELETE', '/v1/floatingIps/%s' % path_id(f['id']))
        if p['wait']:
            cm.client.wait_operation(op, p['timeout'])
    cm.exit(True, None if p['wait'] else gone, diff=dict(before=server, after={}), **extra)


def ensure_auto_ip(cm, server):
    """auto_ip on an existing server: a floating IP when it has none."""
    if server_fips(cm, server):
        cm.exit(False, server)
    identity = dict(server=server['id'], auto_ip=True)
    if cm.check_mode:
        cm.exit(True, server, request_id=cm.request_id(identity))
    body = dict(location=dict(cloud=cloud_of(server)), server=server['id'])
    fip, op, rid = create(cm, 'floatingIps', body, identity)
    server = cm.client.get_or_none('/v1/servers/%s' % path_id(server['id'])) or server
    cm.exit(True, server, floating_ip=fip, operation=op, request_id=rid)


def run(cm):
    p = cm.params
    server = cm.find('servers', 'servers', p['name'])

    if p['state'] == 'absent':
        if server is None:
            cm.exit(False, None)
        delete_server(cm, server)

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
        if p['auto_ip'] and server.get('status') == 'STATUS_ACTIVE':
            ensure_auto_ip(cm, server)
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
    nets, ports, groups = attachments(cm, lambda: net_location(cm).get('cloud'))
    if nets:
        body['networks'] = nets
    if ports:
        body['ports'] = ports
    if groups:
        body['security_groups'] = groups
    if p['auto_ip']:
        body['auto_ip'] = True
    if p['labels']:
        body['labels'] = dict((k, str(v)) for k, v in p['labels'].items())
    if p['user_data']:
        import base64
        body['user_data'] = base64.b64encode(p['user_data'].encode('utf-8')).decode('ascii')
    identity = dict((k, p[k]) for k in ('name', 'cloud', 'region', 'zone', 'flavor', 'image',
                                        'boot_volume', 'keypair', 'networks', 'user_data', 'labels'))
    # Added later: in the identity only when set, so that the request ids of
    # tasks written before they existed stay what they were.
    for k in ('security_groups', 'ports', 'nics', 'auto_ip'):
        if p[k]:
            identity[k] = p[k]
    if cm.check_mode:
        predicted = dict(name=p['name'], location=loc, labels=body.get('labels', {}))
        cm.exit(True, None, diff=dict(before={}, after=predicted),
                request_id=cm.request_id(identity))

    def create_server(rid):
        b = dict(body, request_id=rid)
        return cm.client.call('POST', '/v1/servers', body=b)

    def still_exists(s):
        if s.get('status') == 'STATUS_DELETED':
            return False
        return cm.client.get_or_none('/v1/servers/%s' % path_id(s['id'])) is not None

    server, rid = cm.create_idempotent(create_server, still_exists, identity)
    if p['wait'] and server.get('status') == 'STATUS_ERROR':
        raise CanopyError('server %s (%s) is in ERROR: %s' % (
            p['name'], server.get('id'), server.get('status_message') or server.get('provider_status')))
    cm.exit(True, server, diff=dict(before={}, after=server), request_id=rid)


if __name__ == '__main__':
    main()
