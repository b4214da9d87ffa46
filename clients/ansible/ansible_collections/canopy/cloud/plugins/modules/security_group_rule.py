#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: security_group_rule
short_description: Add or remove one rule of a security group in any cloud canopy fronts
version_added: 0.2.0
description:
  - Makes sure a security group has a rule, or does not. The counterpart of
    C(openstack.cloud.security_group_rule), with its option names.
  - canopy keeps no id of its own for a rule; a rule is found by what it
    says (direction, ether type, protocol, ports, remote prefix or group),
    normalized as canopy normalizes it, so a second run finds the rule the
    first added and changes nothing. O(description) is not compared.
  - Rules change in place (C(POST /v1/securityGroups/{id}:addRule),
    C(:removeRule)). A global group's rules are set when it is created
    (M(canopy.cloud.security_group) with O(canopy.cloud.security_group#module:security_group_rules));
    canopy has no call that changes them, so on a global group the module
    only confirms a rule is there (or is not) and fails otherwise.
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  security_group:
    description:
      - The group (canopy id or name; a name in O(cloud) when given, else a
        global group's or the one group of that name).
    type: str
    required: true
  state:
    description:
      - V(present) makes sure the rule exists, V(absent) that it does not.
    type: str
    choices: [present, absent]
    default: present
  direction:
    description:
      - V(ingress) (traffic to the group's members) or V(egress).
    type: str
    default: ingress
    choices: [ingress, egress]
  ether_type:
    description:
      - V(IPv4) or V(IPv6); a remote IPv6 prefix means IPv6.
    type: str
    default: IPv4
    choices: [IPv4, IPv6]
    aliases: [ethertype]
  protocol:
    description:
      - V(tcp), V(udp), V(icmp), V(icmpv6), a protocol number, or unset
        (V(any)) for all.
    type: str
  port_range_min:
    description:
      - The first destination port (tcp, udp; unset with
        O(port_range_max), all ports), or the ICMP type (unset, any).
    type: int
  port_range_max:
    description:
      - The last destination port (unset, O(port_range_min)), or the ICMP
        code (unset, any).
    type: int
  remote_ip_prefix:
    description:
      - The remote side as a CIDR, for example V(0.0.0.0/0). A malformed one
        fails naming C(rule.remote_cidr) (option O(remote_ip_prefix)).
    type: str
  remote_group:
    description:
      - The remote side as the members of a security group (canopy id or
        name, in the group's cloud); the group itself lets its members talk
        to each other.
    type: str
  description:
    description:
      - A description of a new rule (not compared).
    type: str
'''

EXAMPLES = r'''
- name: ssh from the office
  canopy.cloud.security_group_rule:
    security_group: web
    cloud: east
    protocol: tcp
    port_range_min: 22
    port_range_max: 22
    remote_ip_prefix: 192.0.2.0/24

- name: ping from the group's own members
  canopy.cloud.security_group_rule:
    security_group: web
    cloud: east
    protocol: icmp
    remote_group: web

- name: no more ssh
  canopy.cloud.security_group_rule:
    security_group: web
    cloud: east
    protocol: tcp
    port_range_min: 22
    remote_ip_prefix: 192.0.2.0/24
    state: absent
'''

RETURN = r'''
rule:
  description: The rule as its group lists it (C(id) is the cloud's); C(null) when absent.
  returned: always
  type: dict
  sample:
    id: sgr-2c829abe1f4532e1
    direction: DIRECTION_INGRESS
    ether_type: IPv4
    protocol: tcp
    port_min: 22
    port_max: 22
    remote_cidr: 192.0.2.0/24
security_group:
  description: The group after the change, with all its rules.
  returned: always
  type: dict
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import CanopyError, CanopyModule, path_id
from ansible_collections.canopy.cloud.plugins.module_utils.network import cloud_of, is_global, net_location, resolve
from ansible_collections.canopy.cloud.plugins.module_utils.secgroup import (
    RULE_FIELD_OPTIONS, RULE_OPTIONS, find_rule, rule_from_options)


def main():
    spec = dict(
        security_group=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    spec.update(RULE_OPTIONS)
    cm = CanopyModule('rule', spec, supports_check_mode=True, field_options=RULE_FIELD_OPTIONS,
                      mutually_exclusive=[('remote_ip_prefix', 'remote_group')])
    cm.run(lambda: run(cm))


def run(cm):
    p = cm.params
    cloud = net_location(cm).get('cloud')
    group = resolve(cm, 'securityGroups', 'security_groups', p['security_group'], 'security_group', cloud,
                    allow_global=True)
    rg = None
    if p['remote_group']:
        if p['remote_group'] in (group['id'], group.get('name')):
            rg = group['id']
        else:
            rg = resolve(cm, 'securityGroups', 'security_groups', p['remote_group'], 'remote_group',
                         cloud_of(group) or None, allow_global=True)['id']
    rule = rule_from_options(p, rg)
    have = find_rule(group, rule)
    base = '/v1/securityGroups/%s' % path_id(group['id'])
    if is_global(group) and (have is None) == (p['state'] == 'present'):
        raise CanopyError('canopy rejected field security_group: %s is a global security group, whose rules '
                          'canopy sets only when it is created (security_group with security_group_rules); '
                          'delete and recreate it to change them' % p['security_group'])

    if p['state'] == 'absent':
        if have is None:
            cm.exit(False, None, security_group=group)
        if cm.check_mode:
            cm.exit(True, None, security_group=group, diff=dict(before=have, after={}))
        group = cm.client.call('POST', base + ':removeRule', body=dict(rule_id=have.get('id')))
        cm.exit(True, None, security_group=group, diff=dict(before=have, after={}))

    if have is not None:
        cm.exit(False, have, security_group=group)
    if cm.check_mode:
        cm.exit(True, rule, security_group=group, diff=dict(before={}, after=rule))
    group = cm.client.call('POST', base + ':addRule', body=dict(rule=rule))
    cm.exit(True, find_rule(group, rule) or rule, security_group=group, diff=dict(before={}, after=rule))


if __name__ == '__main__':
    main()
