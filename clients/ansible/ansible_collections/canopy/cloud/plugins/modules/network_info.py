#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: network_info
short_description: List networks of every cloud canopy fronts
version_added: 0.2.0
description:
  - Lists networks by name and location, across every cloud when no location
    is given (canopy fans out and merges), the clouds' external and shared
    networks and canopy's global networks included. Clouds that could not
    answer are reported in RV(cloud_errors); the list holds the others.
  - The counterpart of C(openstack.cloud.networks_info). Never changes
    anything.
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  name:
    description:
      - Only networks with exactly this name.
    type: str
  id:
    description:
      - One network by canopy id (or name, as canopy resolves it); the other
        filters are then ignored.
    type: str
  external:
    description:
      - V(true) lists only external networks (where floating IPs and router
        gateways come from).
    type: bool
  scope:
    description:
      - Only local networks (of one cloud; global networks' realizations
        included) or only canopy's global ones.
    type: str
    choices: [local, global]
  labels:
    description:
      - Only networks that carry all these labels.
    type: dict
'''

EXAMPLES = r'''
- name: The external networks of the east cloud
  canopy.cloud.network_info:
    cloud: east
    external: true
  register: result
'''

RETURN = r'''
networks:
  description: The matching networks, as canopy returns them.
  returned: always
  type: list
  elements: dict
  sample: [{id: 0c1f6b9e-3f8e-4b6f-a1f3-2d0f6f0b8a11, name: public, external: true}]
cloud_errors:
  description: Clouds that could not answer (cloud, code, message).
  returned: always
  type: list
  elements: dict
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import CanopyModule, run_info
from ansible_collections.canopy.cloud.plugins.module_utils.network import is_global, str_labels


def main():
    cm = CanopyModule('network_info', dict(
        name=dict(type='str'),
        id=dict(type='str'),
        external=dict(type='bool'),
        scope=dict(type='str', choices=['local', 'global']),
        labels=dict(type='dict'),
    ), supports_check_mode=True)
    p = cm.params
    q = {}
    if p['external']:
        q['external'] = True
    if p['labels']:
        q['labels'] = str_labels(p['labels'])

    def keep(n):
        if p['scope'] and is_global(n) != (p['scope'] == 'global'):
            return False
        return p['external'] is not False or not n.get('external')
    cm.run(lambda: run_info(cm, 'networks', 'networks', q, p['id'], p['name'], keep=keep))


if __name__ == '__main__':
    main()
