#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: network
short_description: Create or delete a network in any cloud canopy fronts, or a global one
version_added: 0.2.0
description:
  - Creates a network by name and location, or deletes it. The counterpart
    of C(openstack.cloud.network); on AWS a network is a VPC.
  - With O(scope=global) the network is canopy's own, of every cloud; O(cidr)
    is carved into one block per cloud (of O(subnet_prefix_length)) where a
    server uses it, and canopy makes it real there (a network, a subnet and,
    with O(gateway), a router to the cloud's external network).
  - Every create and delete is a durable canopy operation; with O(wait) the
    module waits for it, else it returns it under RV(operation).
  - canopy has no call that changes an existing network; when O(cidr),
    O(mtu), O(labels), O(subnet_prefix_length) or O(gateway) differ from the
    network's, the module warns and changes nothing.
  - Deleting a network that servers still use fails with canopy's message
    naming the port.
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  name:
    description:
      - The network name; with the cloud (and region) it identifies a local
        network, alone a global one.
      - Networks of canopy's global networks in each cloud (labelled
        C(canopy-global)) never match.
      - The create's C(request_id) is a UUIDv5 of the module name, O(name),
        O(cloud), O(region), O(zone), O(cidr), O(mtu), O(labels), O(scope),
        O(subnet_prefix_length) and O(gateway).
    type: str
    required: true
  state:
    description:
      - V(present) makes sure the network exists, V(absent) that it does not.
    type: str
    choices: [present, absent]
    default: present
  scope:
    description:
      - V(local) is a network of one cloud; V(global) one of every cloud
        (O(cloud) must then be left out).
    type: str
    choices: [local, global]
    default: local
  cidr:
    description:
      - The network's range. Required on clouds whose networks have one (AWS)
        and for O(scope=global); elsewhere canopy keeps it and checks that
        subnets fall inside it.
      - A malformed range fails the task naming C(cidr).
    type: str
  mtu:
    description:
      - MTU in bytes (68 to 65535); unset, the cloud's default.
    type: int
    aliases: [mtu_size]
  labels:
    description:
      - Labels to set on a new network.
    type: dict
  subnet_prefix_length:
    description:
      - O(scope=global) only; the prefix length of each cloud's block
        (canopy's default 24).
    type: int
  gateway:
    description:
      - O(scope=global) only; give each cloud's realization a router to that
        cloud's external network, so floating IPs work there.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: A network in the east cloud
  canopy.cloud.network:
    name: backend
    cloud: east
    cidr: 10.20.0.0/16

- name: A network of every cloud, real where servers use it
  canopy.cloud.network:
    name: mesh
    scope: global
    cidr: 10.64.0.0/16
    subnet_prefix_length: 24
    gateway: true

- name: Delete it
  canopy.cloud.network:
    name: backend
    cloud: east
    state: absent
'''

RETURN = r'''
network:
  description: The network as canopy returns it; C(null) after a delete.
  returned: always
  type: dict
  sample:
    id: 0c1f6b9e-3f8e-4b6f-a1f3-2d0f6f0b8a11
    name: backend
    status: STATUS_ACTIVE
    cidr: 10.20.0.0/16
    mtu: 1500
    location: {cloud: east, region: sim-1, project: default}
    subnet_ids: []
operation:
  description: The canopy operation that made the change.
  returned: when something changed (not in check mode)
  type: dict
request_id:
  description: The idempotency key the create sent.
  returned: when a network was created
  type: str
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import CanopyError, CanopyModule
from ansible_collections.canopy.cloud.plugins.module_utils.network import (
    create, create_location, delete, find_named, net_location, str_labels, warn_differs)


def main():
    cm = CanopyModule('network', dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        scope=dict(type='str', default='local', choices=['local', 'global']),
        cidr=dict(type='str'),
        mtu=dict(type='int', aliases=['mtu_size']),
        labels=dict(type='dict'),
        subnet_prefix_length=dict(type='int'),
        gateway=dict(type='bool', default=False),
    ), supports_check_mode=True)
    cm.run(lambda: run(cm))


def differences(p, net):
    out = []
    if p['cidr'] and net.get('cidr') and net['cidr'] != p['cidr']:
        out.append('cidr')
    if p['mtu'] and net.get('mtu') and net['mtu'] != p['mtu']:
        out.append('mtu')
    labels = str_labels(p['labels'])
    if labels is not None and dict(net.get('labels') or {}) != labels:
        out.append('labels')
    if p['scope'] == 'global':
        if p['subnet_prefix_length'] and net.get('subnet_prefix_length') != p['subnet_prefix_length']:
            out.append('subnet_prefix_length')
        if bool(net.get('gateway')) != p['gateway']:
            out.append('gateway')
    return out


def run(cm):
    p = cm.params
    glob = p['scope'] == 'global'
    loc = {} if glob else net_location(cm)
    net = find_named(cm, 'networks', 'networks', p['name'], loc, scope_global=glob)

    if p['state'] == 'absent':
        if net is None:
            cm.exit(False, None)
        delete(cm, 'networks', net)

    if net is not None:
        warn_differs(cm, 'network', p['name'], differences(p, net))
        cm.exit(False, net)

    body = dict(name=p['name'])
    location = create_location(cm)
    if location:
        body['location'] = location
    for k in ('cidr', 'mtu', 'subnet_prefix_length'):
        if p[k]:
            body[k] = p[k]
    if glob:
        body['scope'] = 'SCOPE_GLOBAL'
        if p['gateway']:
            body['gateway'] = True
    elif p['gateway'] or p['subnet_prefix_length']:
        # canopy refuses them too (naming scope); said here before any call.
        raise CanopyError('canopy rejected field scope: subnet_prefix_length and gateway are for '
                          'global networks (scope: global)')
    labels = str_labels(p['labels'])
    if labels:
        body['labels'] = labels
    identity = dict((k, p[k]) for k in ('name', 'cloud', 'region', 'zone', 'cidr', 'mtu', 'labels', 'scope',
                                        'subnet_prefix_length', 'gateway'))
    if cm.check_mode:
        predicted = dict(body)
        predicted['location'] = location
        cm.exit(True, None, diff=dict(before={}, after=predicted), request_id=cm.request_id(identity))
    net, op, rid = create(cm, 'networks', body, identity)
    cm.exit(True, net, diff=dict(before={}, after=net or {}), operation=op, request_id=rid)


if __name__ == '__main__':
    main()
