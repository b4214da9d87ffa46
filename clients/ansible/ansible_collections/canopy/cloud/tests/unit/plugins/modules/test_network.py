# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible.module_utils.common.warnings import get_warning_messages
from ansible_collections.canopy.cloud.plugins.module_utils import canopy as cu
from ansible_collections.canopy.cloud.plugins.module_utils.secgroup import rule_from_options, rule_key
from ansible_collections.canopy.cloud.plugins.modules import (
    floating_ip, network, router, security_group, security_group_rule, server, subnet)

from .conftest import run_module

EAST = {'cloud': 'east', 'region': 'sim-1'}
NET = {'id': 'n1', 'name': 'app', 'status': 'STATUS_ACTIVE', 'location': EAST, 'cidr': '10.1.0.0/16', 'mtu': 1500}
# Every simulated cloud has its own "public": a name canopyd cannot resolve alone.
PUBLICS = [{'id': 'pub-e', 'name': 'public', 'external': True, 'status': 'STATUS_ACTIVE', 'location': EAST},
           {'id': 'pub-w', 'name': 'public', 'external': True, 'status': 'STATUS_ACTIVE', 'location': {'cloud': 'west'}}]


def op(target, kind, done=True):
    return {'id': 'op-' + target, 'done': done, 'metadata': {'kind': kind, 'target_id': target}}


def bad_request(field, desc):
    return cu.CanopyError('%s: %s' % (field, desc), status=400, code=3, details=[{
        '@type': 'type.googleapis.com/google.rpc.BadRequest', 'field_violations': [{'field': field, 'description': desc}]}])


def by_name(items, key):
    return lambda q, b: {key: [dict(i) for i in items if not q.get('name') or i['name'] == q['name']]}


def test_network_check_mode_then_create_waits_for_its_operation(canopy):
    canopy.on('GET', '/v1/networks', by_name([], 'networks'))
    args = dict(name='app', cloud='east', cidr='10.1.0.0/16', mtu=1500)
    res, failed = run_module(network.main, args, check_mode=True)
    assert not failed and res['changed'] and canopy.writes() == []
    canopy.on('POST', '/v1/networks', lambda q, b: op('n1', 'network.create', done=False))
    canopy.on('POST', '/v1/operations/op-n1:wait', lambda q, b: op('n1', 'network.create'))
    canopy.on('GET', '/v1/networks/n1', lambda q, b: dict(NET))
    res, failed = run_module(network.main, args)
    assert not failed and res['changed'] and res['network']['id'] == 'n1'
    post = canopy.writes()[0]
    assert post['body'] == dict(name='app', location={'cloud': 'east'}, cidr='10.1.0.0/16', mtu=1500,
                                request_id=res['request_id'])
    assert res['operation']['done']


def test_network_global_create_and_lookup_skip_realizations(canopy):
    realization = dict(NET, id='r1', name='mesh', labels={'canopy-global': 'g1'})
    glob = {'id': 'g1', 'name': 'mesh', 'scope': 'SCOPE_GLOBAL', 'status': 'STATUS_ACTIVE', 'location': {}, 'cidr': '10.64.0.0/16',
            'subnet_prefix_length': 24}
    canopy.on('GET', '/v1/networks', by_name([realization], 'networks'))
    canopy.on('POST', '/v1/networks', lambda q, b: op('g1', 'global.define'))
    canopy.on('GET', '/v1/networks/g1', lambda q, b: dict(glob))
    res, failed = run_module(network.main, dict(name='mesh', scope='global', cidr='10.64.0.0/16', gateway=True))
    assert not failed and res['changed']
    body = canopy.writes()[0]['body']
    assert body['scope'] == 'SCOPE_GLOBAL' and body['gateway'] is True and 'location' not in body
    # Once defined, the global one is found, not its realization.
    canopy.on('GET', '/v1/networks', by_name([realization, glob], 'networks'))
    canopy.requests[:] = []
    res, failed = run_module(network.main, dict(name='mesh', scope='global', cidr='10.64.0.0/16'))
    assert not failed and not res['changed'] and res['network']['id'] == 'g1'
    # A local look-up in the realization's cloud finds nothing to delete.
    res, failed = run_module(network.main, dict(name='mesh', cloud='east', state='absent'))
    assert not failed and not res['changed'] and canopy.writes() == []


def test_network_bad_cidr_names_the_field_and_local_gateway_is_refused(canopy):
    canopy.on('GET', '/v1/networks', by_name([], 'networks'))
    canopy.on('POST', '/v1/networks', lambda q, b: bad_request('cidr', '"10.0.0.0/33" is not a CIDR such as 10.0.0.0/16'))
    res, failed = run_module(network.main, dict(name='x', cloud='east', cidr='10.0.0.0/33'))
    assert failed and res['msg'] == 'canopy rejected field cidr: "10.0.0.0/33" is not a CIDR such as 10.0.0.0/16'
    assert res['field_violations'][0]['field'] == 'cidr'
    canopy.requests[:] = []
    res, failed = run_module(network.main, dict(name='x', cloud='east', gateway=True))
    assert failed and res['msg'].startswith('canopy rejected field scope') and canopy.writes() == []


def test_network_differs_warns_without_writing(canopy):
    canopy.on('GET', '/v1/networks', by_name([NET], 'networks'))
    res, failed = run_module(network.main, dict(name='app', cloud='east', mtu=9000))
    assert not failed and not res['changed'] and canopy.writes() == []
    assert any('differs in mtu' in w for w in get_warning_messages())


def test_network_absent_deletes_and_waits(canopy):
    canopy.on('GET', '/v1/networks', by_name([NET], 'networks'))
    canopy.on('DELETE', '/v1/networks/n1', lambda q, b: op('n1', 'network.delete', done=False))
    canopy.on('POST', '/v1/operations/op-n1:wait', lambda q, b: op('n1', 'network.delete'))
    res, failed = run_module(network.main, dict(name='app', cloud='east', state='absent'))
    assert not failed and res['changed'] and res['network'] is None and res['operation']['done']


def test_subnet_resolves_its_network_in_the_cloud(canopy):
    nets = [dict(NET, id='priv-e', name='private'), dict(NET, id='priv-w', name='private', location={'cloud': 'west'})]
    canopy.on('GET', '/v1/networks', by_name(nets, 'networks'))
    seen = []
    canopy.on('GET', '/v1/subnets', lambda q, b: seen.append(q) or {'subnets': []})
    canopy.on('POST', '/v1/subnets', lambda q, b: op('s1', 'subnet.create'))
    canopy.on('GET', '/v1/subnets/s1', lambda q, b: {'id': 's1', 'name': 'a', 'network_id': 'priv-w'})
    res, failed = run_module(subnet.main, dict(name='a', cloud='west', network='private', cidr='10.0.9.0/24',
                                               no_gateway_ip=True, enable_dhcp=False, dns_nameservers=['192.0.2.1'],
                                               allocation_pool_start='10.0.9.10', allocation_pool_end='10.0.9.20'))
    assert not failed and res['changed']
    assert seen[0]['network'] == 'priv-w' and seen[0]['location'] == {'cloud': 'west'}
    body = canopy.writes()[0]['body']
    assert body['network'] == 'priv-w' and body['no_gateway'] is True and body['disable_dhcp'] is True
    assert body['dns_servers'] == ['192.0.2.1'] and body['allocation_pools'] == [{'start': '10.0.9.10', 'end': '10.0.9.20'}]
    # Without a cloud the name is ambiguous: the task fails naming the option, before any write.
    canopy.requests[:] = []
    res, failed = run_module(subnet.main, dict(name='a', network='private', cidr='10.0.9.0/24'))
    assert failed and res['msg'].startswith('canopy rejected field network: 2 networks are named')
    assert canopy.writes() == []


def test_subnet_field_violation_names_the_option(canopy):
    canopy.on('GET', '/v1/networks', by_name([NET], 'networks'))
    canopy.on('GET', '/v1/subnets', lambda q, b: {'subnets': []})
    canopy.on('POST', '/v1/subnets', lambda q, b: bad_request('dns_servers[0]', 'not an IP address'))
    canopy.on('GET', '/v1/subnets/x', lambda q, b: {})
    res, failed = run_module(subnet.main, dict(name='x', cloud='east', network='app', cidr='10.1.1.0/24', dns_nameservers=['nope']))
    assert failed and res['field_violations'][0]['field'] == 'dns_servers[0]'


ROUTER = {'id': 'r1', 'name': 'edge', 'status': 'STATUS_ACTIVE', 'location': EAST, 'external_network_id': 'pub-e',
          'interfaces': [{'subnet_id': 's-old', 'port_id': 'p1', 'ip': '10.1.2.1'}]}
SUBNETS = [{'id': 's-new', 'name': 'new', 'status': 'STATUS_ACTIVE', 'location': EAST},
           {'id': 's-old', 'name': 'old', 'status': 'STATUS_ACTIVE', 'location': EAST}]


def test_router_converges_interfaces_and_gateway(canopy):
    canopy.on('GET', '/v1/routers', by_name([ROUTER], 'routers'))
    canopy.on('GET', '/v1/subnets', by_name(SUBNETS, 'subnets'))
    canopy.on('GET', '/v1/networks', by_name(PUBLICS, 'networks'))
    args = dict(name='edge', cloud='east', external_network='public', interfaces=['new'])
    res, failed = run_module(router.main, args, check_mode=True)
    assert res['changed'] and res['actions'] == ['add_interface s-new', 'remove_interface s-old'] and canopy.writes() == []
    for verb in ('addInterface', 'removeInterface', 'setGateway'):
        canopy.on('POST', '/v1/routers/r1:' + verb, lambda q, b: dict(ROUTER, interfaces=[{'subnet_id': 's-new'}]))
    res, failed = run_module(router.main, args)
    assert not failed and res['changed']
    assert [(w['path'], w['body']) for w in canopy.writes()] == [
        ('/v1/routers/r1:addInterface', {'subnet': 's-new'}), ('/v1/routers/r1:removeInterface', {'subnet': 's-old'})]
    canopy.requests[:] = []
    res, failed = run_module(router.main, dict(name='edge', cloud='east', external_network=''))
    assert res['actions'] == ['clear_gateway'] and canopy.writes()[0]['body'] == {}


def test_router_absent_detaches_first(canopy):
    canopy.on('GET', '/v1/routers', by_name([ROUTER], 'routers'))
    canopy.on('POST', '/v1/routers/r1:removeInterface', lambda q, b: dict(ROUTER, interfaces=[]))
    canopy.on('DELETE', '/v1/routers/r1', lambda q, b: op('r1', 'router.delete'))
    res, failed = run_module(router.main, dict(name='edge', cloud='east', state='absent'))
    assert not failed and res['actions'] == ['remove_interface s-old', 'delete']
    assert [w['method'] for w in canopy.writes()] == ['POST', 'DELETE']


def test_rule_normalization_matches_what_canopy_stores():
    assert rule_key(rule_from_options({'protocol': '6', 'port_range_min': 22, 'remote_ip_prefix': '192.0.2.0/24'})) == \
        rule_key({'direction': 'DIRECTION_INGRESS', 'ether_type': 'IPv4', 'protocol': 'tcp', 'port_min': 22, 'port_max': 22,
                  'remote_cidr': '192.0.2.0/24'})
    icmp = rule_from_options({'protocol': 'ICMP'})
    assert (icmp['port_min'], icmp['port_max']) == (-1, -1)
    assert rule_from_options({'remote_ip_prefix': '::/0'})['ether_type'] == 'IPv6'
    assert rule_key(rule_from_options({'direction': 'egress'})) == rule_key({'direction': 'DIRECTION_EGRESS', 'ether_type': 'IPv4'})
    assert rule_key(rule_from_options({'protocol': 'any'})) == rule_key({})
    # Left for canopy to refuse, naming the field.
    assert rule_from_options({'remote_ip_prefix': '10.0.0.0/99'})['remote_cidr'] == '10.0.0.0/99'


GROUP = {'id': 'g1', 'name': 'web', 'status': 'STATUS_ACTIVE', 'location': EAST, 'rules': [
    {'id': 'eg4', 'direction': 'DIRECTION_EGRESS', 'ether_type': 'IPv4'},
    {'id': 'ssh', 'direction': 'DIRECTION_INGRESS', 'ether_type': 'IPv4', 'protocol': 'tcp', 'port_min': 22, 'port_max': 22,
     'remote_cidr': '0.0.0.0/0'}]}


def test_security_group_rule_idempotent_add_and_remove(canopy):
    canopy.on('GET', '/v1/securityGroups', by_name([GROUP], 'security_groups'))
    ssh = dict(security_group='web', cloud='east', protocol='tcp', port_range_min=22, remote_ip_prefix='0.0.0.0/0')
    res, failed = run_module(security_group_rule.main, ssh)
    assert not failed and not res['changed'] and res['rule']['id'] == 'ssh' and canopy.writes() == []
    canopy.on('POST', '/v1/securityGroups/g1:addRule', lambda q, b: dict(GROUP, rules=GROUP['rules'] + [dict(b['rule'], id='new')]))
    res, failed = run_module(security_group_rule.main, dict(ssh, port_range_min=80))
    assert res['changed'] and res['rule']['id'] == 'new'
    assert canopy.writes()[0]['body'] == {'rule': {'direction': 'DIRECTION_INGRESS', 'ether_type': 'IPv4', 'protocol': 'tcp',
                                                   'port_min': 80, 'port_max': 80, 'remote_cidr': '0.0.0.0/0'}}
    canopy.requests[:] = []
    canopy.on('POST', '/v1/securityGroups/g1:removeRule', lambda q, b: dict(GROUP, rules=GROUP['rules'][:1]))
    res, failed = run_module(security_group_rule.main, dict(ssh, state='absent'))
    assert res['changed'] and canopy.writes()[0]['body'] == {'rule_id': 'ssh'}


def test_security_group_rule_on_a_global_group_is_refused(canopy):
    glob = dict(GROUP, id='gg', location={}, scope='SCOPE_GLOBAL', rules=[])
    canopy.on('GET', '/v1/securityGroups', by_name([glob, dict(GROUP, labels={'canopy-global': 'gg'})], 'security_groups'))
    res, failed = run_module(security_group_rule.main, dict(security_group='web', protocol='udp'))
    assert failed and 'global security group' in res['msg'] and canopy.writes() == []


def test_security_group_inline_rules_converge(canopy):
    canopy.on('GET', '/v1/securityGroups', by_name([GROUP], 'security_groups'))
    canopy.on('POST', '/v1/securityGroups/g1:addRule', lambda q, b: GROUP)
    canopy.on('POST', '/v1/securityGroups/g1:removeRule', lambda q, b: GROUP)
    rules = [{'protocol': 'tcp', 'port_range_min': 22, 'remote_ip_prefix': '0.0.0.0/0'}, {'protocol': 'icmp', 'remote_group': 'web'}]
    res, failed = run_module(security_group.main, dict(name='web', cloud='east', security_group_rules=rules))
    assert not failed and res['changed']
    assert [(w['path'].split(':')[-1], w['body']) for w in canopy.writes()] == [
        ('addRule', {'rule': {'direction': 'DIRECTION_INGRESS', 'ether_type': 'IPv4', 'protocol': 'icmp', 'port_min': -1,
                              'port_max': -1, 'remote_group': 'g1'}}),
        ('removeRule', {'rule_id': 'eg4'})]


SERVER = {'id': 'srv-1', 'name': 'web1', 'status': 'STATUS_ACTIVE', 'location': EAST}
FIP = {'id': 'f1', 'ip': '203.0.113.9', 'status': 'STATUS_ACTIVE', 'location': EAST, 'network_id': 'pub-e'}


def test_floating_ip_allocates_only_when_the_server_has_none(canopy):
    canopy.on('GET', '/v1/servers', by_name([SERVER], 'servers'))
    canopy.on('GET', '/v1/floatingIps', lambda q, b: {'floating_ips': []})
    canopy.on('POST', '/v1/floatingIps', lambda q, b: op('f1', 'floating_ip.create'))
    canopy.on('GET', '/v1/floatingIps/f1', lambda q, b: dict(FIP, server_id='srv-1', port_id='p1'))
    res, failed = run_module(floating_ip.main, dict(server='web1', cloud='east'))
    assert not failed and res['changed'] and res['actions'] == ['allocate']
    body = canopy.writes()[0]['body']
    assert body['server'] == 'srv-1' and body['location'] == {'cloud': 'east'} and body['request_id'] == res['request_id']
    canopy.requests[:] = []
    canopy.on('GET', '/v1/floatingIps', lambda q, b: {'floating_ips': [dict(FIP, server_id='srv-1', port_id='p1')]})
    res, failed = run_module(floating_ip.main, dict(server='web1', cloud='east'))
    assert not res['changed'] and canopy.writes() == []


def test_floating_ip_absent_disassociates_and_releases_unless_purge_false(canopy):
    bound = dict(FIP, server_id='srv-1', port_id='p1')
    canopy.on('GET', '/v1/servers', by_name([SERVER], 'servers'))
    canopy.on('GET', '/v1/floatingIps', lambda q, b: {'floating_ips': [bound]})
    canopy.on('POST', '/v1/floatingIps/f1:disassociate', lambda q, b: dict(FIP))
    canopy.on('DELETE', '/v1/floatingIps/f1', lambda q, b: op('f1', 'floating_ip.delete'))
    res, failed = run_module(floating_ip.main, dict(server='web1', cloud='east', state='absent', purge=False))
    assert res['actions'] == ['disassociate 203.0.113.9'] and [w['method'] for w in canopy.writes()] == ['POST']
    canopy.requests[:] = []
    res, failed = run_module(floating_ip.main, dict(server='web1', cloud='east', state='absent'))
    assert res['actions'] == ['disassociate 203.0.113.9', 'release 203.0.113.9']
    assert [w['method'] for w in canopy.writes()] == ['POST', 'DELETE']


def test_server_sends_groups_ports_and_auto_ip_resolved_in_its_cloud(canopy):
    groups = [dict(GROUP, id='sg-e', name='default'), dict(GROUP, id='sg-w', name='default', location={'cloud': 'west'})]
    canopy.on('GET', '/v1/servers', lambda q, b: {'servers': []})
    canopy.on('GET', '/v1/securityGroups', by_name(groups, 'security_groups'))
    canopy.on('GET', '/v1/ports', by_name([{'id': 'port-1', 'name': 'p', 'location': EAST, 'status': 'STATUS_ACTIVE'}], 'ports'))
    canopy.on('GET', '/v1/networks', by_name([], 'networks'))
    canopy.on('POST', '/v1/servers', lambda q, b: dict(SERVER))
    canopy.on('GET', '/v1/servers/srv-1', lambda q, b: dict(SERVER))
    res, failed = run_module(server.main, dict(name='web1', cloud='east', flavor='m1.tiny', image='cirros',
                                               security_groups=['default'], nics=[{'port-name': 'p'}, 'net-native-id'],
                                               auto_ip=True))
    assert not failed and res['changed']
    body = canopy.writes()[0]['body']
    assert body['security_groups'] == ['sg-e'] and body['ports'] == ['port-1'] and body['auto_ip'] is True
    assert body['networks'] == ['net-native-id']  # not a name canopy lists: passed as given


def test_server_delete_ips_releases_after_the_delete(canopy):
    canopy.on('GET', '/v1/servers', by_name([SERVER], 'servers'))
    canopy.on('GET', '/v1/floatingIps', lambda q, b: {'floating_ips': [dict(FIP, server_id='srv-1')]})
    canopy.on('DELETE', '/v1/servers/srv-1', lambda q, b: {})
    canopy.on('DELETE', '/v1/floatingIps/f1', lambda q, b: op('f1', 'floating_ip.delete'))
    res, failed = run_module(server.main, dict(name='web1', cloud='east', state='absent', delete_ips=True))
    assert not failed and res['released_ips'] == ['203.0.113.9']
    assert [w['path'] for w in canopy.writes()] == ['/v1/servers/srv-1', '/v1/floatingIps/f1']
