#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: port
short_description: Create or delete a port on a network in any cloud canopy fronts
version_added: 0.2.0
description:
  - Creates a port (a network attachment point with an address, to give a
    server with M(canopy.cloud.server) O(canopy.cloud.server#module:ports))
    by name, or deletes it. The counterpart of C(openstack.cloud.port); on
    AWS a port is an elastic network interface.
  - canopy has no call that changes an existing port; when the task's
    attributes differ from the port's, the module warns and changes nothing.
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  name:
    description:
      - The port name; with the cloud (and region) it identifies the port.
      - The create's C(request_id) is a UUIDv5 of the module name, O(name),
        the network's canopy id, O(cloud), O(region), O(zone), O(fixed_ips),
        the security groups' canopy ids and O(labels).
    type: str
    required: true
  state:
    description:
      - V(present) makes sure the port exists, V(absent) that it does not.
    type: str
    choices: [present, absent]
    default: present
  network:
    description:
      - The network (canopy id or name, in O(cloud) when given). Required to
        create.
    type: str
  fixed_ips:
    description:
      - The port's address, at most one item (canopy gives a port one
        address), with the subnet it comes from and/or the address itself.
        Unset, the cloud chooses (on AWS the subnet is required).
    type: list
    elements: dict
    suboptions:
      subnet_id:
        description: The subnet (canopy id or name, in the network's cloud).
        type: str
        aliases: [subnet]
      ip_address:
        description: The address, inside the subnet.
        type: str
  security_groups:
    description:
      - Security groups (canopy ids or names, in the port's cloud); unset,
        the cloud's default.
    type: list
    elements: str
  labels:
    description:
      - Labels to set on a new port.
    type: dict
'''

EXAMPLES = r'''
- name: A port with a fixed address, for a server
  canopy.cloud.port:
    name: db-port
    cloud: east
    network: backend
    fixed_ips:
      - subnet_id: backend-1
        ip_address: 10.20.1.50
    security_groups: [db]

- name: Delete it
  canopy.cloud.port:
    name: db-port
    cloud: east
    state: absent
'''

RETURN = r'''
port:
  description: The port as canopy returns it; C(null) after a delete.
  returned: always
  type: dict
  sample:
    id: 3c9e0b55-6f0a-4e8e-9d55-2b1d8e7d0c10
    name: db-port
    network_id: 0c1f6b9e-3f8e-4b6f-a1f3-2d0f6f0b8a11
    fixed_ips: [{subnet_id: 5b0e7d35-2a8c-4f0e-8d55-0d9e0c7c2b61, ip: 10.20.1.50}]
    mac_address: fa:16:3e:12:34:56
    security_group_ids: [02e21d4c-d040-55fe-a3d2-a6d75dad78b3]
operation:
  description: The canopy operation that made the change.
  returned: when something changed (not in check mode)
  type: dict
request_id:
  description: The idempotency key the create sent.
  returned: when a port was created
  type: str
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import CanopyError, CanopyModule
from ansible_collections.canopy.cloud.plugins.module_utils.network import (
    cloud_of, create, create_location, delete, find_named, net_location, resolve, resolve_ids, str_labels,
    warn_differs)


def main():
    cm = CanopyModule('port', dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        network=dict(type='str'),
        fixed_ips=dict(type='list', elements='dict', options=dict(
            subnet_id=dict(type='str', aliases=['subnet']),
            ip_address=dict(type='str'))),
        security_groups=dict(type='list', elements='str'),
        labels=dict(type='dict'),
    ), supports_check_mode=True, field_options=dict(fixed_ip='fixed_ips', subnet='fixed_ips'))
    cm.run(lambda: run(cm))


def run(cm):
    p = cm.params
    loc = net_location(cm)
    port = find_named(cm, 'ports', 'ports', p['name'], loc)

    if p['state'] == 'absent':
        if port is None:
            cm.exit(False, None)
        delete(cm, 'ports', port)

    cloud = cloud_of(port) if port else loc.get('cloud')
    net = None
    if p['network']:
        net = resolve(cm, 'networks', 'networks', p['network'], 'network', cloud)
        cloud = cloud or cloud_of(net)
    if len(p['fixed_ips'] or []) > 1:
        raise CanopyError('canopy rejected field fixed_ips: canopy gives a port one address; got %d'
                          % len(p['fixed_ips']))
    fixed = (p['fixed_ips'] or [{}])[0]
    subnet = None
    if fixed.get('subnet_id'):
        subnet = resolve(cm, 'subnets', 'subnets', fixed['subnet_id'], 'fixed_ips[0].subnet_id', cloud)
    groups = None
    if p['security_groups'] is not None:
        groups = resolve_ids(cm, 'securityGroups', 'security_groups', p['security_groups'], 'security_groups', cloud)

    if port is not None:
        differs = []
        if net and port.get('network_id') != net['id']:
            differs.append('network')
        ips = port.get('fixed_ips') or []
        if subnet and not any(i.get('subnet_id') == subnet['id'] for i in ips):
            differs.append('fixed_ips (subnet)')
        if fixed.get('ip_address') and not any(i.get('ip') == fixed['ip_address'] for i in ips):
            differs.append('fixed_ips (ip_address)')
        if groups is not None and sorted(port.get('security_group_ids') or []) != sorted(groups):
            differs.append('security_groups')
        labels = str_labels(p['labels'])
        if labels is not None and dict(port.get('labels') or {}) != labels:
            differs.append('labels')
        warn_differs(cm, 'port', p['name'], differs)
        cm.exit(False, port)

    if net is None:
        raise CanopyError('canopy rejected field network: required to create port %s' % p['name'])
    body = dict(name=p['name'], network=net['id'])
    if subnet:
        body['subnet'] = subnet['id']
    if fixed.get('ip_address'):
        body['fixed_ip'] = fixed['ip_address']
    if groups:
        body['security_groups'] = groups
    labels = str_labels(p['labels'])
    if labels:
        body['labels'] = labels
    identity = dict((k, p[k]) for k in ('name', 'cloud', 'region', 'zone', 'fixed_ips', 'labels'))
    identity.update(network=net['id'], security_groups=groups)
    if cm.check_mode:
        predicted = dict(body, network_id=net['id'], location=create_location(cm) or dict(cloud=cloud))
        cm.exit(True, None, diff=dict(before={}, after=predicted), request_id=cm.request_id(identity))
    port, op, rid = create(cm, 'ports', body, identity)
    cm.exit(True, port, diff=dict(before={}, after=port or {}), operation=op, request_id=rid)


if __name__ == '__main__':
    main()
