# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Security group rules as the modules state them, and as canopy lists them.

canopy keeps no id of its own for a rule and answers the same rule twice
with ALREADY_EXISTS, so a rule is found by what it says: direction, ether
type, protocol, ports, remote CIDR, remote group. rule_from_options turns
the openstack.cloud-style options into canopy's SecurityGroupRule already
normalized the way canopyd normalizes it (default ingress, IPv4 unless the
remote CIDR says IPv6, protocol names, a single port as min = max, any ICMP
type and code as -1), so that what the module sends is what canopy stores,
and rule_key compares the two.
"""

from __future__ import annotations

import ipaddress

from ansible.module_utils.common.text.converters import to_text

PROTOCOL_NUMBERS = {'6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmpv6'}
PROTOCOL_ALIASES = {'any': '', 'ipv6-icmp': 'icmpv6'}

# The options of one rule, shared by security_group_rule and the
# security_group_rules of security_group (openstack.cloud's names).
RULE_OPTIONS = dict(
    direction=dict(type='str', default='ingress', choices=['ingress', 'egress']),
    ether_type=dict(type='str', default='IPv4', choices=['IPv4', 'IPv6'], aliases=['ethertype']),
    protocol=dict(type='str'),
    port_range_min=dict(type='int'),
    port_range_max=dict(type='int'),
    remote_ip_prefix=dict(type='str'),
    remote_group=dict(type='str'),
    description=dict(type='str'),
)

# canopy's field names in a rule -> the options.
RULE_FIELD_OPTIONS = {
    'rule.remote_cidr': 'remote_ip_prefix', 'rule.port_min': 'port_range_min', 'rule.port_max': 'port_range_max',
    'rule.ether_type': 'ether_type', 'rule.protocol': 'protocol', 'rule.remote_group': 'remote_group',
}


def norm_protocol(value):
    v = (to_text(value) if value is not None else '').strip().lower()
    v = PROTOCOL_ALIASES.get(v, v)
    return PROTOCOL_NUMBERS.get(v, v)


def norm_cidr(value):
    """A CIDR in canonical form; anything that does not parse is left for
    canopy to refuse, naming the field."""
    try:
        return to_text(ipaddress.ip_network(to_text(value).strip(), strict=True))
    except ValueError:
        return value


def rule_from_options(o, remote_group_id=None):
    """canopy's SecurityGroupRule for the options o (remote group resolved
    by the caller to remote_group_id)."""
    proto = norm_protocol(o.get('protocol'))
    lo, hi = o.get('port_range_min'), o.get('port_range_max')
    if proto in ('tcp', 'udp'):
        lo = lo or 0
        hi = hi if hi is not None else lo
    elif proto in ('icmp', 'icmpv6'):
        lo = -1 if lo is None else lo
        hi = -1 if hi is None else hi
        if lo == 0 and hi == 0:
            lo = hi = -1
    else:
        lo = lo or 0
        hi = hi or 0
    ether = o.get('ether_type') or 'IPv4'
    rule = dict(direction='DIRECTION_EGRESS' if o.get('direction') == 'egress' else 'DIRECTION_INGRESS',
                ether_type=ether, protocol=proto, port_min=lo, port_max=hi)
    if o.get('remote_ip_prefix'):
        cidr = norm_cidr(o['remote_ip_prefix'])
        rule['remote_cidr'] = cidr
        if ':' in cidr and ether == 'IPv4':
            rule['ether_type'] = 'IPv6'  # the CIDR's family decides, as in canopy
    if remote_group_id:
        rule['remote_group'] = remote_group_id
    if o.get('description'):
        rule['description'] = o['description']
    return rule


def rule_key(rule):
    """What makes two rules the same (canopy's answers omit zero values)."""
    return (rule.get('direction') or 'DIRECTION_INGRESS',
            (rule.get('ether_type') or 'IPv4').lower(),
            norm_protocol(rule.get('protocol')),
            int(rule.get('port_min') or 0),
            int(rule.get('port_max') or 0),
            (rule.get('remote_cidr') or '').lower(),
            rule.get('remote_group') or '')


def find_rule(group, rule):
    k = rule_key(rule)
    for r in (group or {}).get('rules') or []:
        if rule_key(r) == k:
            return r
    return None
