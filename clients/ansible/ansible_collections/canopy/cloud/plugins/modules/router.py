#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: router
short_description: Create, change or delete a router in any cloud canopy fronts
version_added: 0.2.0
description:
  - Creates a router by name and location, sets or clears its gateway on an
    external network, attaches and detaches subnets, or deletes it. The
    counterpart of C(openstack.cloud.router); on AWS a router is an internet
    gateway with the route table of its subnets.
  - Gateway and interfaces change in place (C(POST /v1/routers/{id}:setGateway),
    C(:addInterface), C(:removeInterface)); the create and the delete are
    durable canopy operations.
  - With V(absent), the router's interfaces are detached first (canopy
    refuses to delete a router that has some).
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  name:
    description:
      - The router name; with the cloud (and region) it identifies the
        router.
      - The create's C(request_id) is a UUIDv5 of the module name, O(name),
        O(cloud), O(region), O(zone), the external network's canopy id and
        O(labels).
    type: str
    required: true
  state:
    description:
      - V(present) makes sure the router exists as described, V(absent) that
        it does not.
    type: str
    choices: [present, absent]
    default: present
  external_network:
    description:
      - The external network of the router's gateway (canopy id or name, in
        the router's cloud). An empty string clears the gateway; unset leaves
        it as it is.
    type: str
    aliases: [network]
  interfaces:
    description:
      - The subnets (canopy ids or names, in the router's cloud) the router
        has interfaces in. Missing ones are attached and others detached;
        unset leaves the interfaces as they are, V([]) detaches them all.
    type: list
    elements: str
  labels:
    description:
      - Labels to set on a new router.
    type: dict
'''

EXAMPLES = r'''
- name: A router from backend-1 to the east cloud's public network
  canopy.cloud.router:
    name: edge
    cloud: east
    external_network: public
    interfaces: [backend-1]

- name: Detach everything and clear the gateway
  canopy.cloud.router:
    name: edge
    cloud: east
    external_network: ""
    interfaces: []

- name: Delete it (interfaces are detached first)
  canopy.cloud.router:
    name: edge
    cloud: east
    state: absent
'''

RETURN = r'''
router:
  description: The router as canopy returns it; C(null) after a delete.
  returned: always
  type: dict
  sample:
    id: 9a1b6b0e-2f3e-4c55-8a63-3b5b0b6e6b77
    name: edge
    external_network_id: b51815d6-f323-5eb4-87fd-22fc8a27a9be
    external_ips: [203.0.113.5]
    interfaces: [{subnet_id: 5b0e7d35-2a8c-4f0e-8d55-0d9e0c7c2b61, port_id: 3c9e..., ip: 10.20.1.1}]
    status: STATUS_ACTIVE
actions:
  description: >-
    What the module did (or would do in check mode), in order:
    C(create), C(set_gateway <network id>), C(clear_gateway),
    C(add_interface <subnet id>), C(remove_interface <subnet id>), C(delete).
  returned: always
  type: list
  elements: str
operation:
  description: The canopy operation of a create or a delete.
  returned: when the router was created or deleted (not in check mode)
  type: dict
request_id:
  description: The idempotency key the create sent.
  returned: when a router was created
  type: str
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import CanopyModule, path_id
from ansible_collections.canopy.cloud.plugins.module_utils.network import (
    cloud_of, create, create_location, find_named, net_location, resolve, str_labels, warn_differs)


def main():
    cm = CanopyModule('router', dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        external_network=dict(type='str', aliases=['network']),
        interfaces=dict(type='list', elements='str'),
        labels=dict(type='dict'),
    ), supports_check_mode=True)
    cm.run(lambda: run(cm))


def interface_subnets(router):
    return [i.get('subnet_id') for i in (router or {}).get('interfaces') or []]


def plan(cm, router, cloud):
    """The gateway and interface changes that bring router (None: one about
    to be made) to the task; returns (actions, predicted router)."""
    p = cm.params
    actions = []
    after = dict(router or {})
    have_gw = (router or {}).get('external_network_id') or ''
    if p['external_network'] is not None and router is not None:
        want_gw = ''
        if p['external_network']:
            want_gw = resolve(cm, 'networks', 'networks', p['external_network'], 'external_network', cloud)['id']
        if want_gw != have_gw:
            actions.append('set_gateway %s' % want_gw if want_gw else 'clear_gateway')
            after['external_network_id'] = want_gw
    if p['interfaces'] is not None:
        want = []
        for i, ref in enumerate(p['interfaces']):
            sid = resolve(cm, 'subnets', 'subnets', ref, 'interfaces[%d]' % i, cloud)['id']
            if sid not in want:
                want.append(sid)
        have = interface_subnets(router)
        for sid in want:
            if sid not in have:
                actions.append('add_interface %s' % sid)
        for sid in have:
            if sid not in want:
                actions.append('remove_interface %s' % sid)
        after['interfaces'] = [i for i in after.get('interfaces') or [] if i.get('subnet_id') in want] + \
            [dict(subnet_id=s) for s in want if s not in have]
    return actions, after


def apply(cm, router, actions):
    """Runs the actions on router; returns the router as the last answer
    says."""
    base = '/v1/routers/%s' % path_id(router['id'])
    for a in actions:
        verb, dummy, arg = a.partition(' ')
        if verb == 'set_gateway':
            router = cm.client.call('POST', base + ':setGateway', body=dict(external_network=arg))
        elif verb == 'clear_gateway':
            router = cm.client.call('POST', base + ':setGateway', body={})
        elif verb == 'add_interface':
            router = cm.client.call('POST', base + ':addInterface', body=dict(subnet=arg))
        elif verb == 'remove_interface':
            router = cm.client.call('POST', base + ':removeInterface', body=dict(subnet=arg))
    return router


def run(cm):
    p = cm.params
    loc = net_location(cm)
    router = find_named(cm, 'routers', 'routers', p['name'], loc)

    if p['state'] == 'absent':
        if router is None:
            cm.exit(False, None, actions=[])
        actions = ['remove_interface %s' % s for s in interface_subnets(router)] + ['delete']
        if cm.check_mode:
            cm.exit(True, None, diff=dict(before=router, after={}), actions=actions)
        apply(cm, router, actions[:-1])
        op = cm.client.call('DELETE', '/v1/routers/%s' % path_id(router['id']))
        if p['wait']:
            op = cm.client.wait_operation(op, p['timeout'])
        cm.exit(True, None, diff=dict(before=router, after={}), operation=op, actions=actions)

    if router is not None:
        labels = str_labels(p['labels'])
        if labels is not None and dict(router.get('labels') or {}) != labels:
            warn_differs(cm, 'router', p['name'], ['labels'])
        actions, after = plan(cm, router, cloud_of(router))
        if not actions:
            cm.exit(False, router, actions=[])
        if cm.check_mode:
            cm.exit(True, after, diff=dict(before=router, after=after), actions=actions)
        new = apply(cm, router, actions)
        cm.exit(True, new, diff=dict(before=router, after=new), actions=actions)

    cloud = loc.get('cloud')
    body = dict(name=p['name'])
    location = create_location(cm)
    if location:
        body['location'] = location
    gw = None
    if p['external_network']:
        gw = resolve(cm, 'networks', 'networks', p['external_network'], 'external_network', cloud)
        body['external_network'] = gw['id']
        cloud = cloud or cloud_of(gw)
    labels = str_labels(p['labels'])
    if labels:
        body['labels'] = labels
    identity = dict((k, p[k]) for k in ('name', 'cloud', 'region', 'zone', 'labels'))
    identity['external_network'] = gw['id'] if gw else None
    actions, after = plan(cm, None, cloud)
    actions.insert(0, 'create')
    if cm.check_mode:
        after.update(name=p['name'], location=location, external_network_id=gw['id'] if gw else '')
        cm.exit(True, None, diff=dict(before={}, after=after), actions=actions, request_id=cm.request_id(identity))
    router, op, rid = create(cm, 'routers', body, identity)
    if router is not None and len(actions) > 1:
        if not p['wait']:
            router = cm.wait_for('routers', router)
        router = apply(cm, router, actions[1:])
    cm.exit(True, router, diff=dict(before={}, after=router or {}), operation=op, request_id=rid, actions=actions)


if __name__ == '__main__':
    main()
