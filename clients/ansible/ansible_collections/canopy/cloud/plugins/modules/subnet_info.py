#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: subnet_info
short_description: List subnets of every cloud canopy fronts
version_added: 0.2.0
description:
  - Lists subnets by name, network and location, across every cloud when no
    location is given. Clouds that could not answer are reported in
    RV(cloud_errors); the list holds the others.
  - The counterpart of C(openstack.cloud.subnets_info). Never changes
    anything.
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  name:
    description:
      - Only subnets with exactly this name.
    type: str
  id:
    description:
      - One subnet by canopy id (or name, as canopy resolves it); the other
        filters are then ignored.
    type: str
  network:
    description:
      - Only subnets of this network (canopy id or name, in O(cloud) when
        given).
    type: str
  labels:
    description:
      - Only subnets that carry all these labels.
    type: dict
'''

EXAMPLES = r'''
- name: The subnets of network backend in the east cloud
  canopy.cloud.subnet_info:
    cloud: east
    network: backend
  register: result
'''

RETURN = r'''
subnets:
  description: The matching subnets, as canopy returns them.
  returned: always
  type: list
  elements: dict
  sample: [{id: 5b0e7d35-2a8c-4f0e-8d55-0d9e0c7c2b61, name: backend-1, cidr: 10.20.1.0/24}]
cloud_errors:
  description: Clouds that could not answer (cloud, code, message).
  returned: always
  type: list
  elements: dict
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import CanopyModule, run_info
from ansible_collections.canopy.cloud.plugins.module_utils.network import net_location, resolve, str_labels


def main():
    cm = CanopyModule('subnet_info', dict(
        name=dict(type='str'),
        id=dict(type='str'),
        network=dict(type='str'),
        labels=dict(type='dict'),
    ), supports_check_mode=True)
    cm.run(lambda: run(cm))


def run(cm):
    p = cm.params
    q = {}
    if p['labels']:
        q['labels'] = str_labels(p['labels'])
    if p['network'] and not p['id']:
        net = resolve(cm, 'networks', 'networks', p['network'], 'network', net_location(cm).get('cloud'))
        q['network'] = net['id']
    run_info(cm, 'subnets', 'subnets', q, p['id'], p['name'])


if __name__ == '__main__':
    main()
