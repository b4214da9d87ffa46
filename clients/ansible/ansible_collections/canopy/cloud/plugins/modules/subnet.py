#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: subnet
short_description: Create or delete a subnet of a network in any cloud canopy fronts
version_added: 0.2.0
description:
  - Creates a subnet of a network by name, or deletes it. The counterpart of
    C(openstack.cloud.subnet); the subnet is made in its network's cloud.
  - canopy checks the range (a malformed one, one outside the network's
    range or overlapping another subnet of the network fails naming C(cidr)),
    the gateway (outside the range fails naming C(gateway_ip)) and the
    allocation pools.
  - canopy has no call that changes an existing subnet; when the task's
    attributes differ from the subnet's, the module warns and changes
    nothing.
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  name:
    description:
      - The subnet name; with the network (or the cloud) it identifies the
        subnet.
      - The create's C(request_id) is a UUIDv5 of the module name, O(name),
        the network's canopy id, O(cloud), O(region), O(zone), O(cidr),
        O(gateway_ip), O(no_gateway_ip), O(enable_dhcp),
        O(dns_nameservers), the allocation pools and O(labels).
    type: str
    required: true
  state:
    description:
      - V(present) makes sure the subnet exists, V(absent) that it does not.
    type: str
    choices: [present, absent]
    default: present
  network:
    description:
      - The network (canopy id or name, in O(cloud) when given). Required to
        create; with V(absent) it narrows the look-up.
    type: str
    aliases: [network_name]
  cidr:
    description:
      - The subnet's range, for example V(10.20.1.0/24). Required to create.
    type: str
  gateway_ip:
    description:
      - The gateway address, inside O(cidr); unset, the first address.
    type: str
  no_gateway_ip:
    description:
      - No gateway at all.
    type: bool
    default: false
    aliases: [no_gateway]
  enable_dhcp:
    description:
      - Whether DHCP hands out the subnet's addresses.
    type: bool
    default: true
  dns_nameservers:
    description:
      - DNS servers given to instances.
    type: list
    elements: str
  allocation_pool_start:
    description:
      - The first address of the one range addresses are allocated from
        (with O(allocation_pool_end)).
    type: str
  allocation_pool_end:
    description:
      - The last address of that range.
    type: str
  allocation_pools:
    description:
      - Ranges addresses are allocated from; unset, the whole range.
    type: list
    elements: dict
    suboptions:
      start:
        description: The first address.
        type: str
        required: true
      end:
        description: The last address.
        type: str
        required: true
  labels:
    description:
      - Labels to set on a new subnet.
    type: dict
'''

EXAMPLES = r'''
- name: A subnet of network backend in the east cloud
  canopy.cloud.subnet:
    name: backend-1
    cloud: east
    network: backend
    cidr: 10.20.1.0/24
    dns_nameservers: [192.0.2.53]
    allocation_pool_start: 10.20.1.100
    allocation_pool_end: 10.20.1.200

- name: Delete it
  canopy.cloud.subnet:
    name: backend-1
    cloud: east
    state: absent
'''

RETURN = r'''
subnet:
  description: The subnet as canopy returns it; C(null) after a delete.
  returned: always
  type: dict
  sample:
    id: 5b0e7d35-2a8c-4f0e-8d55-0d9e0c7c2b61
    name: backend-1
    network_id: 0c1f6b9e-3f8e-4b6f-a1f3-2d0f6f0b8a11
    cidr: 10.20.1.0/24
    gateway_ip: 10.20.1.1
    dhcp: true
    allocation_pools: [{start: 10.20.1.100, end: 10.20.1.200}]
operation:
  description: The canopy operation that made the change.
  returned: when something changed (not in check mode)
  type: dict
request_id:
  description: The idempotency key the create sent.
  returned: when a subnet was created
  type: str
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import CanopyError, CanopyModule
from ansible_collections.canopy.cloud.plugins.module_utils.network import (
    cloud_of, create, delete, find_named, net_location, resolve, str_labels, warn_differs)

FIELD_OPTIONS = dict(dns_servers='dns_nameservers', disable_dhcp='enable_dhcp', no_gateway='no_gateway_ip')


def main():
    cm = CanopyModule('subnet', dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        network=dict(type='str', aliases=['network_name']),
        cidr=dict(type='str'),
        gateway_ip=dict(type='str'),
        no_gateway_ip=dict(type='bool', default=False, aliases=['no_gateway']),
        enable_dhcp=dict(type='bool', default=True),
        dns_nameservers=dict(type='list', elements='str'),
        allocation_pool_start=dict(type='str'),
        allocation_pool_end=dict(type='str'),
        allocation_pools=dict(type='list', elements='dict', options=dict(
            start=dict(type='str', required=True),
            end=dict(type='str', required=True))),
        labels=dict(type='dict'),
    ), supports_check_mode=True, field_options=FIELD_OPTIONS,
        mutually_exclusive=[('gateway_ip', 'no_gateway_ip'), ('allocation_pools', 'allocation_pool_start'),
                            ('allocation_pools', 'allocation_pool_end')],
        required_together=[('allocation_pool_start', 'allocation_pool_end')])
    cm.run(lambda: run(cm))


def pools(p):
    if p['allocation_pool_start']:
        return [dict(start=p['allocation_pool_start'], end=p['allocation_pool_end'])]
    if p['allocation_pools']:
        return [dict(start=x['start'], end=x['end']) for x in p['allocation_pools']]
    return None


def differences(p, sub):
    out = []
    if p['cidr'] and sub.get('cidr') != p['cidr']:
        out.append('cidr')
    if p['gateway_ip'] and sub.get('gateway_ip') != p['gateway_ip']:
        out.append('gateway_ip')
    if p['no_gateway_ip'] and sub.get('gateway_ip'):
        out.append('no_gateway_ip')
    if bool(sub.get('dhcp')) != p['enable_dhcp']:
        out.append('enable_dhcp')
    if p['dns_nameservers'] is not None and list(sub.get('dns_servers') or []) != p['dns_nameservers']:
        out.append('dns_nameservers')
    want = pools(p)
    if want is not None and [dict(start=x.get('start'), end=x.get('end')) for x in sub.get('allocation_pools') or []] != want:
        out.append('allocation_pools')
    labels = str_labels(p['labels'])
    if labels is not None and dict(sub.get('labels') or {}) != labels:
        out.append('labels')
    return out


def run(cm):
    p = cm.params
    loc = net_location(cm)
    net = None
    if p['network']:
        try:
            net = resolve(cm, 'networks', 'networks', p['network'], 'network', loc.get('cloud'))
        except CanopyError as e:
            if p['state'] == 'present' or not e.not_found:
                raise
            cm.exit(False, None)  # no such network: no such subnet either
        loc = dict(loc, cloud=cloud_of(net))
    extra = {'network': net['id']} if net else None
    sub = find_named(cm, 'subnets', 'subnets', p['name'], loc, extra_query=extra,
                     keep=(lambda s: s.get('network_id') == net['id']) if net else None)

    if p['state'] == 'absent':
        if sub is None:
            cm.exit(False, None)
        delete(cm, 'subnets', sub)

    if sub is not None:
        warn_differs(cm, 'subnet', p['name'], differences(p, sub))
        cm.exit(False, sub)

    if net is None:
        raise CanopyError('canopy rejected field network: required to create subnet %s' % p['name'])
    if not p['cidr']:
        raise CanopyError('canopy rejected field cidr: required to create subnet %s' % p['name'])
    body = dict(name=p['name'], network=net['id'], cidr=p['cidr'])
    if p['zone']:
        body['zone'] = p['zone']
    if p['gateway_ip']:
        body['gateway_ip'] = p['gateway_ip']
    if p['no_gateway_ip']:
        body['no_gateway'] = True
    if not p['enable_dhcp']:
        body['disable_dhcp'] = True
    if p['dns_nameservers']:
        body['dns_servers'] = p['dns_nameservers']
    if pools(p):
        body['allocation_pools'] = pools(p)
    labels = str_labels(p['labels'])
    if labels:
        body['labels'] = labels
    identity = dict((k, p[k]) for k in ('name', 'cloud', 'region', 'zone', 'cidr', 'gateway_ip', 'no_gateway_ip',
                                        'enable_dhcp', 'dns_nameservers', 'labels'))
    identity.update(network=net['id'], allocation_pools=pools(p))
    if cm.check_mode:
        predicted = dict(body, network_id=net['id'], location=dict(cloud=cloud_of(net)))
        cm.exit(True, None, diff=dict(before={}, after=predicted), request_id=cm.request_id(identity))
    sub, op, rid = create(cm, 'subnets', body, identity)
    cm.exit(True, sub, diff=dict(before={}, after=sub or {}), operation=op, request_id=rid)


if __name__ == '__main__':
    main()
