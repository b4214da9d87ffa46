#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: floating_ip
short_description: Give a server a floating IP, or take it away, in any cloud canopy fronts
version_added: 0.2.0
description:
  - The counterpart of C(openstack.cloud.floating_ip). With V(present), makes
    sure O(server) has a floating IP, O(floating_ip_address) when given
    (associated if free), else any it already has (from O(network) when
    given), else a free one when O(reuse), else a new one allocated from
    O(network) (the cloud's only external network when unset) and
    associated at once.
  - With V(absent), the server's floating IPs (or O(floating_ip_address)
    alone) are disassociated and, unless O(purge=false), released back to
    the cloud. B(Unlike openstack.cloud), whose O(purge) defaults to
    V(false), releasing is the default, for an address that stays allocated
    costs money on most clouds.
  - An allocation is a durable canopy operation sent with a C(request_id)
    (a UUIDv5 of the module name, the server's canopy id, the network's and
    O(cloud)), so a retried task never allocates twice; association and
    disassociation change in place.
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  server:
    description:
      - The server (canopy id or name). Required with V(present); with
        V(absent), O(server) or O(floating_ip_address) is.
    type: str
  state:
    description:
      - V(present) makes sure the server has a floating IP, V(absent) that it
        has none (or that O(floating_ip_address) is gone).
    type: str
    choices: [present, absent]
    default: present
  network:
    description:
      - The external network (canopy id or name, in the server's cloud) to
        allocate from, and to which an existing floating IP must belong to
        count.
    type: str
  floating_ip_address:
    description:
      - A particular floating IP (its address, or canopy id), already
        allocated, associated with O(server) when free; one associated
        elsewhere fails the task.
    type: str
  reuse:
    description:
      - With V(present), associate a free floating IP of the cloud (of
        O(network)) before allocating a new one.
    type: bool
    default: false
  purge:
    description:
      - With V(absent), release the floating IPs after disassociating them;
        V(false) only disassociates.
    type: bool
    default: true
  labels:
    description:
      - Labels to set on a newly allocated floating IP.
    type: dict
'''

EXAMPLES = r'''
- name: web1 gets a floating IP (allocated if it has none)
  canopy.cloud.floating_ip:
    server: web1
    cloud: east
  register: fip

- name: That particular address, on web2
  canopy.cloud.floating_ip:
    server: web2
    cloud: east
    floating_ip_address: 203.0.113.7

- name: web1 has none (released)
  canopy.cloud.floating_ip:
    server: web1
    cloud: east
    state: absent
'''

RETURN = r'''
floating_ip:
  description: >-
    The floating IP the server has (with V(present)), or the last one
    released or disassociated (with V(absent); C(null) when there was none).
  returned: always
  type: dict
  sample:
    id: d8765569-d945-4cd2-b754-cd3974817274
    ip: 203.0.113.3
    network_id: b51815d6-f323-5eb4-87fd-22fc8a27a9be
    port_id: 268c78d8-d115-53fb-95f7-cd17c4bd7d69
    server_id: dd45339b-e2fb-4a60-ba5f-355ee2784131
    fixed_ip: 10.0.0.2
actions:
  description: >-
    What the module did (or would do in check mode): C(allocate),
    C(associate <address>), C(disassociate <address>), C(release <address>).
  returned: always
  type: list
  elements: str
operation:
  description: The canopy operation of an allocation (the last release with V(absent)).
  returned: when a floating IP was allocated or released (not in check mode)
  type: dict
request_id:
  description: The idempotency key the allocation sent.
  returned: when a floating IP was allocated
  type: str
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import (
    CanopyError, CanopyModule, live, path_id)
from ansible_collections.canopy.cloud.plugins.module_utils.network import (
    cloud_of, create, find_server, net_location, resolve, str_labels)


def main():
    cm = CanopyModule('floating_ip', dict(
        server=dict(type='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        network=dict(type='str'),
        floating_ip_address=dict(type='str'),
        reuse=dict(type='bool', default=False),
        purge=dict(type='bool', default=True),
        labels=dict(type='dict'),
    ), supports_check_mode=True,
        required_if=[('state', 'present', ['server'])],
        required_one_of=[('server', 'floating_ip_address')])
    cm.run(lambda: run(cm))


def fips(cm, cloud, server=None):
    q = {}
    if cloud:
        q['location'] = {'cloud': cloud}
    if server:
        q['server'] = server['id']
    items, dummy = cm.client.list_all('/v1/floatingIps', 'floating_ips', query=q)
    return [f for f in items if live(f) and (not server or f.get('server_id') == server['id'])]


def run(cm):
    p = cm.params
    cloud = net_location(cm).get('cloud')
    server = None
    if p['server']:
        server = find_server(cm, p['server'], cloud)
        if server is None and p['state'] == 'present':
            raise CanopyError('canopy rejected field server: no server %r%s' % (
                p['server'], ' in cloud %s' % cloud if cloud else ''), status=404, code=5)
        if server is not None:
            cloud = cloud_of(server)
    fip = None
    if p['floating_ip_address']:
        fip = cm.client.get_or_none('/v1/floatingIps/%s' % path_id(p['floating_ip_address']))
        if fip is not None and not live(fip):
            fip = None
    net = None
    if p['network']:
        net = resolve(cm, 'networks', 'networks', p['network'], 'network', cloud)

    if p['state'] == 'absent':
        absent(cm, server, fip, net, cloud)
    present(cm, server, fip, net, cloud)


def absent(cm, server, fip, net, cloud):
    p = cm.params
    if p['floating_ip_address']:
        targets = [fip] if fip is not None and (server is None or fip.get('server_id') == server['id']) else []
        if p['server'] and server is None:
            targets = []
    elif server is None:
        targets = []
    else:
        targets = [f for f in fips(cm, cloud, server) if net is None or f.get('network_id') == net['id']]
    actions = []
    for f in targets:
        if f.get('port_id'):
            actions.append('disassociate %s' % f.get('ip'))
        if p['purge']:
            actions.append('release %s' % f.get('ip'))
    last = targets[-1] if targets else None
    if not actions or cm.check_mode:
        cm.exit(bool(actions), last, actions=actions,
                diff=dict(before=dict(floating_ips=targets), after=dict(floating_ips=[] if p['purge'] else targets)))
    op = None
    for f in targets:
        if f.get('port_id'):
            last = cm.client.call('POST', '/v1/floatingIps/%s:disassociate' % path_id(f['id']), body={})
        if p['purge']:
            op = cm.client.call('DELETE', '/v1/floatingIps/%s' % path_id(f['id']))
            if p['wait']:
                op = cm.client.wait_operation(op, p['timeout'])
    extra = dict(operation=op) if op else {}
    cm.exit(True, last, actions=actions, diff=dict(before=dict(floating_ips=targets), after={}), **extra)


def present(cm, server, fip, net, cloud):
    p = cm.params
    if p['floating_ip_address']:
        if fip is None:
            raise CanopyError('canopy rejected field floating_ip_address: no floating IP %r; canopy allocates '
                              'addresses of its own choosing' % p['floating_ip_address'], status=404, code=5)
        if fip.get('server_id') == server['id']:
            cm.exit(False, fip, actions=[])
        return associate(cm, server, fip)

    have = [f for f in fips(cm, cloud, server) if net is None or f.get('network_id') == net['id']]
    if have:
        cm.exit(False, have[0], actions=[])
    if p['reuse']:
        free = [f for f in fips(cm, cloud) if not f.get('port_id') and (net is None or f.get('network_id') == net['id'])]
        if free:
            return associate(cm, server, free[0])

    body = dict(location=dict(cloud=cloud), server=server['id'])
    if net:
        body['network'] = net['id']
    labels = str_labels(p['labels'])
    if labels:
        body['labels'] = labels
    identity = dict(server=server['id'], network=net['id'] if net else None, cloud=cloud, labels=p['labels'])
    if cm.check_mode:
        cm.exit(True, None, actions=['allocate'], request_id=cm.request_id(identity),
                diff=dict(before={}, after=dict(server_id=server['id'], network_id=net['id'] if net else '')))
    f, op, rid = create(cm, 'floatingIps', body, identity)
    cm.exit(True, f, actions=['allocate'], operation=op, request_id=rid, diff=dict(before={}, after=f or {}))


def associate(cm, server, fip):
    action = ['associate %s' % fip.get('ip')]
    after = dict(fip, server_id=server['id'])
    if cm.check_mode:
        cm.exit(True, after, actions=action, diff=dict(before=fip, after=after))
    new = cm.client.call('POST', '/v1/floatingIps/%s:associate' % path_id(fip['id']), body=dict(server=server['id']))
    cm.exit(True, new, actions=action, diff=dict(before=fip, after=new))


if __name__ == '__main__':
    main()
