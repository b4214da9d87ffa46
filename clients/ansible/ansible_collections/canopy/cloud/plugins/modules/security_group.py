#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: security_group
short_description: Create or delete a security group in any cloud canopy fronts, or a global one
version_added: 0.2.0
description:
  - Creates a security group by name and location, or deletes it; with
    O(security_group_rules), makes its rules exactly those. The counterpart
    of C(openstack.cloud.security_group); single rules are managed with
    M(canopy.cloud.security_group_rule).
  - With O(scope=global) the group is canopy's own, of every cloud; canopy
    makes it real in each cloud where a server uses it and keeps its rules
    identical there. Its rules are those O(security_group_rules) gives at
    the create; canopy has no call that changes them later, so a global
    group whose rules differ from the task's fails the task.
  - A new group keeps the rules its cloud adds (egress to anywhere, on
    OpenStack and the simulator) unless O(security_group_rules) says
    otherwise.
  - canopy has no call that changes a group's description or labels; when
    they differ the module warns. Deleting a group that a port, a server or
    another group's rule uses fails with canopy's message naming it.
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  name:
    description:
      - The group name; with the cloud (and region) it identifies a local
        group, alone a global one. Groups of canopy's global groups in each
        cloud (labelled C(canopy-global)) never match.
      - The create's C(request_id) is a UUIDv5 of the module name, O(name),
        O(cloud), O(region), O(zone), O(description), O(scope), the
        network's canopy id, O(labels) and O(security_group_rules).
    type: str
    required: true
  state:
    description:
      - V(present) makes sure the group exists, V(absent) that it does not.
    type: str
    choices: [present, absent]
    default: present
  scope:
    description:
      - V(local) is a group of one cloud; V(global) one of every cloud
        (O(cloud) must then be left out).
    type: str
    choices: [local, global]
    default: local
  description:
    description:
      - A description.
    type: str
  network:
    description:
      - The network the group belongs to on clouds where groups belong to one
        (AWS, the VPC; canopy id or name); unset, the cloud's default.
    type: str
  labels:
    description:
      - Labels to set on a new group.
    type: dict
  security_group_rules:
    description:
      - The group's rules. Unset, the rules are left as they are; a list
        makes the rules exactly these (missing ones added, others, the
        cloud's default rules included, removed), as in
        C(openstack.cloud.security_group).
      - A rule whose O(security_group_rules[].remote_group) is the group's
        own name lets the group's members talk to each other.
    type: list
    elements: dict
    suboptions:
      direction:
        description: V(ingress) (traffic to the members) or V(egress).
        type: str
        default: ingress
        choices: [ingress, egress]
      ether_type:
        description: V(IPv4) or V(IPv6); a remote IPv6 prefix means IPv6.
        type: str
        default: IPv4
        choices: [IPv4, IPv6]
        aliases: [ethertype]
      protocol:
        description: V(tcp), V(udp), V(icmp), V(icmpv6), a protocol number, or unset (V(any)) for all.
        type: str
      port_range_min:
        description: The first port (tcp, udp), or the ICMP type.
        type: int
      port_range_max:
        description: The last port (tcp, udp; unset, O(security_group_rules[].port_range_min)), or the ICMP code.
        type: int
      remote_ip_prefix:
        description: The remote side as a CIDR; unset with O(security_group_rules[].remote_group), anywhere.
        type: str
      remote_group:
        description: The remote side as the members of a group (canopy id or name, in the same cloud).
        type: str
      description:
        description: A description (not compared).
        type: str
'''

EXAMPLES = r'''
- name: A web group with exactly ssh and http in
  canopy.cloud.security_group:
    name: web
    cloud: east
    description: web servers
    security_group_rules:
      - {protocol: tcp, port_range_min: 22, remote_ip_prefix: 192.0.2.0/24}
      - {protocol: tcp, port_range_min: 80, remote_ip_prefix: 0.0.0.0/0}
      - {direction: egress}
      - {direction: egress, ether_type: IPv6}

- name: A group of every cloud
  canopy.cloud.security_group:
    name: mesh
    scope: global

- name: Delete it
  canopy.cloud.security_group:
    name: web
    cloud: east
    state: absent
'''

RETURN = r'''
security_group:
  description: The group as canopy returns it, with its rules; C(null) after a delete.
  returned: always
  type: dict
  sample:
    id: 02e21d4c-d040-55fe-a3d2-a6d75dad78b3
    name: web
    description: web servers
    rules:
      - {id: sgr-2c829abe1f4532e1, direction: DIRECTION_INGRESS, ether_type: IPv4, protocol: tcp,
         port_min: 22, port_max: 22, remote_cidr: 192.0.2.0/24}
actions:
  description: >-
    What the module did (or would do in check mode): C(create),
    C(add_rule <direction> <protocol> <ports> <remote>), C(remove_rule <rule id>), C(delete).
  returned: always
  type: list
  elements: str
operation:
  description: The canopy operation of a create or a delete.
  returned: when the group was created or deleted (not in check mode)
  type: dict
request_id:
  description: The idempotency key the create sent.
  returned: when a group was created
  type: str
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import CanopyError, CanopyModule, path_id
from ansible_collections.canopy.cloud.plugins.module_utils.network import (
    cloud_of, create, create_location, delete, find_named, net_location, resolve, str_labels, warn_differs)
from ansible_collections.canopy.cloud.plugins.module_utils.secgroup import (
    RULE_OPTIONS, rule_from_options, rule_key)


def main():
    cm = CanopyModule('security_group', dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        scope=dict(type='str', default='local', choices=['local', 'global']),
        description=dict(type='str'),
        network=dict(type='str'),
        labels=dict(type='dict'),
        security_group_rules=dict(type='list', elements='dict', options=RULE_OPTIONS),
    ), supports_check_mode=True)
    cm.run(lambda: run(cm))


def describe_rule(r):
    ports = '%s-%s' % (r.get('port_min', 0), r.get('port_max', 0))
    r = dict(r, direction=r.get('direction') or 'DIRECTION_INGRESS', ether_type=r.get('ether_type') or 'IPv4')
    remote = r.get('remote_cidr') or r.get('remote_group') or 'any'
    return 'add_rule %s %s %s %s %s' % (r['direction'][len('DIRECTION_'):].lower(), r['ether_type'],
                                        r.get('protocol') or 'any', ports, remote)


def wanted_rules(cm, group_id, cloud):
    """The task's rules as canopy rules; a remote group named as the group
    itself is the group (its id, or, for a group about to be made, its
    name: canopy's create understands that)."""
    p = cm.params
    out = []
    for i, o in enumerate(p['security_group_rules'] or []):
        rg = None
        if o.get('remote_group'):
            if o['remote_group'] in (p['name'], group_id):
                rg = group_id or p['name']
            else:
                rg = resolve(cm, 'securityGroups', 'security_groups', o['remote_group'],
                             'security_group_rules[%d].remote_group' % i, cloud,
                             allow_global=p['scope'] == 'global')['id']
        out.append(rule_from_options(o, rg))
    return out


def converge(cm, group):
    """The rule changes that make group's rules the task's: (actions,
    calls)."""
    want = wanted_rules(cm, group['id'], cloud_of(group))
    have = group.get('rules') or []
    have_keys = [rule_key(r) for r in have]
    want_keys = [rule_key(r) for r in want]
    actions, calls = [], []
    for r in want:
        if rule_key(r) not in have_keys:
            have_keys.append(rule_key(r))
            actions.append(describe_rule(r))
            calls.append(('addRule', dict(rule=r)))
    for r in have:
        if rule_key(r) not in want_keys:
            actions.append('remove_rule %s' % (r.get('id') or describe_rule(r)[len('add_rule '):]))
            calls.append(('removeRule', dict(rule_id=r.get('id'))))
    return actions, calls


def apply(cm, group, calls):
    for verb, body in calls:
        group = cm.client.call('POST', '/v1/securityGroups/%s:%s' % (path_id(group['id']), verb), body=body)
    return group


def run(cm):
    p = cm.params
    glob = p['scope'] == 'global'
    loc = {} if glob else net_location(cm)
    group = find_named(cm, 'securityGroups', 'security_groups', p['name'], loc, scope_global=glob)

    if p['state'] == 'absent':
        if group is None:
            cm.exit(False, None, actions=[])
        delete(cm, 'securityGroups', group)

    if group is not None:
        differs = []
        if p['description'] is not None and group.get('description', '') != p['description']:
            differs.append('description')
        labels = str_labels(p['labels'])
        if labels is not None and dict(group.get('labels') or {}) != labels:
            differs.append('labels')
        warn_differs(cm, 'security group', p['name'], differs)
        if p['security_group_rules'] is None:
            cm.exit(False, group, actions=[])
        actions, calls = converge(cm, group)
        if not actions:
            cm.exit(False, group, actions=[])
        if glob:
            raise CanopyError('canopy rejected field security_group_rules: global security group %s has other rules '
                              '(%s); canopy sets a global group\'s rules only when it is created: delete and '
                              'recreate it to change them' % (p['name'], ', '.join(actions)))
        if cm.check_mode:
            cm.exit(True, group, diff=dict(before=group, after=dict(group, rules=[c[1]['rule'] for c in calls
                                                                                  if c[0] == 'addRule'])),
                    actions=actions)
        new = apply(cm, group, calls)
        cm.exit(True, new, diff=dict(before=group, after=new), actions=actions)

    cloud = loc.get('cloud')
    body = dict(name=p['name'])
    location = create_location(cm)
    if location:
        body['location'] = location
    if glob:
        body['scope'] = 'SCOPE_GLOBAL'
    if p['description']:
        body['description'] = p['description']
    net = None
    if p['network']:
        net = resolve(cm, 'networks', 'networks', p['network'], 'network', cloud)
        body['network'] = net['id']
    labels = str_labels(p['labels'])
    if labels:
        body['labels'] = labels
    rules = wanted_rules(cm, None, cloud)
    if rules:
        body['rules'] = rules
    identity = dict((k, p[k]) for k in ('name', 'cloud', 'region', 'zone', 'description', 'scope', 'labels',
                                        'security_group_rules'))
    identity['network'] = net['id'] if net else None
    actions = ['create'] + [describe_rule(r) for r in rules]
    if cm.check_mode:
        cm.exit(True, None, diff=dict(before={}, after=dict(body, location=location)), actions=actions,
                request_id=cm.request_id(identity))
    group, op, rid = create(cm, 'securityGroups', body, identity)
    if group is not None and p['security_group_rules'] is not None:
        # The cloud's default rules came with the group: the list says
        # exactly which rules it has.
        if not p['wait']:
            group = cm.wait_for('securityGroups', group)
        more, calls = converge(cm, group)
        actions.extend(more)
        group = apply(cm, group, calls)
    cm.exit(True, group, diff=dict(before={}, after=group or {}), operation=op, request_id=rid, actions=actions)


if __name__ == '__main__':
    main()
