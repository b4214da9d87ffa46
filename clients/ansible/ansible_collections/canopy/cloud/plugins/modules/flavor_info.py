#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: flavor_info
short_description: List flavors of every cloud canopy fronts
version_added: 0.1.0
description:
  - Lists flavors by name and location, across every cloud when no location
    is given (canopy fans out and merges). Clouds that could not answer are
    reported in RV(cloud_errors); the list holds the others.
  - The counterpart of C(openstack.cloud.compute_flavor_info). Never changes anything.
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  name:
    description:
      - Only flavors with exactly this name.
    type: str
  id:
    description:
      - One of them by canopy id (or name, as canopy resolves it); the
        location filters are then ignored.
    type: str
  labels:
    description:
      - Only flavors that carry all these labels.
    type: dict
  min_vcpus:
    description:
      - Only flavors with at least this many vcpus.
    type: int
  min_ram_mib:
    description:
      - Only flavors with at least this much memory, MiB.
    type: int
  min_disk_gib:
    description:
      - Only flavors with at least this much root disk, GiB.
    type: int
  smallest:
    description:
      - Return only the smallest flavor that meets the minimums (canopy's
        C(flavors:find); ties break by cloud, then name).
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: The smallest flavor with at least 4 GiB, in any cloud
  canopy.cloud.flavor_info:
    min_ram_mib: 4096
    smallest: true
  register: result
'''

RETURN = r'''
flavors:
  description: The matching flavors, as canopy returns them.
  returned: always
  type: list
  elements: dict
  sample: [{id: e6184151-1b21-5c6e-a1c5-0954d79130c8, name: m1.small, vcpus: 1, ram_mib: 2048}]
cloud_errors:
  description: Clouds that could not answer (cloud, code, message).
  returned: always
  type: list
  elements: dict
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import (
    CanopyModule, location_query, run_info)


def main():
    cm = CanopyModule('flavor_info', dict(
        name=dict(type='str'),
        id=dict(type='str'),
        labels=dict(type='dict'),
        min_vcpus=dict(type='int'),
        min_ram_mib=dict(type='int'),
        min_disk_gib=dict(type='int'),
        smallest=dict(type='bool', default=False),
    ), supports_check_mode=True)
    p = cm.params
    q = {}
    if p['labels']:
        q['labels'] = dict((k, str(v)) for k, v in p['labels'].items())
    if p['smallest']:
        cm.run(lambda: find_smallest(cm))

    def keep(f):
        return (f.get('vcpus', 0) >= (p['min_vcpus'] or 0) and
                f.get('ram_mib', 0) >= (p['min_ram_mib'] or 0) and
                f.get('disk_gib', 0) >= (p['min_disk_gib'] or 0))

    cm.run(lambda: run_info(cm, 'flavors', 'flavors', q, p['id'], p['name'], keep=keep))


def find_smallest(cm):
    p = cm.params
    q = dict(min_vcpus=p['min_vcpus'], min_ram_mib=p['min_ram_mib'], min_disk_gib=p['min_disk_gib'])
    loc = location_query(p)
    if loc:
        q['location'] = loc
    flavor = cm.client.get('/v1/flavors:find', query=q)
    cm.module.exit_json(changed=False, flavors=[flavor], cloud_errors=[])


if __name__ == '__main__':
    main()
