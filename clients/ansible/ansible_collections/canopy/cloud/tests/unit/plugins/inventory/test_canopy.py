# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible.inventory.data import InventoryData
from ansible_collections.canopy.cloud.plugins.inventory.canopy import InventoryModule, first_ip, safe


def plugin(**options):
    p = InventoryModule()
    p.inventory = InventoryData()
    opts = dict(group_prefix='canopy_', clouds=[], only_active=False, hostname='name', strict=False,
                compose={}, groups={}, keyed_groups=[], strict_clouds=False, use_extra_vars=False,
                leading_separator=True)
    opts.update(options)
    p.get_option = opts.get
    return p


SERVERS = [
    {'id': 'a', 'name': 'web', 'status': 'STATUS_ACTIVE', 'flavor_id': 'f1', 'image_id': 'i1',
     'location': {'cloud': 'east', 'region': 'r-1', 'zone': 'east-1a'}, 'labels': {'role': 'web'},
     'addresses': [{'ip': '10.0.0.1', 'type': 'fixed', 'version': 4}, {'ip': '1.2.3.4', 'type': 'floating', 'version': 4}]},
    {'id': 'b', 'name': 'web', 'status': 'STATUS_STOPPED', 'location': {'cloud': 'west', 'region': 'r-1', 'zone': 'west-1a'}},
]


def test_groups_and_hostvars():
    p = plugin()
    p.populate(SERVERS, {'f1': {'name': 'm1.small', 'vcpus': 1}}, {'i1': {'name': 'debian-12'}})
    groups = p.inventory.groups
    assert sorted(h.name for h in groups['canopy'].get_hosts()) == ['b', 'web']
    assert [h.name for h in groups['canopy_cloud_east'].get_hosts()] == ['web']
    assert [h.name for h in groups['canopy_cloud_west'].get_hosts()] == ['b']  # name taken: id
    assert sorted(h.name for h in groups['canopy_region_r_1'].get_hosts()) == ['b', 'web']
    assert [h.name for h in groups['canopy_zone_east_1a'].get_hosts()] == ['web']
    assert [h.name for h in groups['canopy_status_stopped'].get_hosts()] == ['b']
    assert [h.name for h in groups['canopy_label_role_web'].get_hosts()] == ['web']
    hv = p.inventory.get_host('web').vars
    assert hv['ansible_host'] == '1.2.3.4'
    assert hv['canopy_flavor'] == 'm1.small' and hv['canopy_image'] == 'debian-12'
    assert hv['canopy_id'] == 'a' and hv['canopy_cloud'] == 'east'


def test_filters():
    p = plugin(clouds=['west'])
    p.populate(SERVERS, {}, {})
    assert [h.name for h in p.inventory.groups['canopy'].get_hosts()] == ['web']
    p = plugin(only_active=True, hostname='id')
    p.populate(SERVERS, {}, {})
    assert [h.name for h in p.inventory.groups['canopy'].get_hosts()] == ['a']


def test_helpers():
    assert safe('east-1a.b') == 'east_1a_b'
    assert first_ip([{'ip': 'fe80::1', 'version': 6}, {'ip': '10.0.0.2', 'version': 4}]) == '10.0.0.2'
    assert first_ip([]) is None
