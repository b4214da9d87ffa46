#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: security_group_info
short_description: List security groups of every cloud canopy fronts, with their rules
version_added: 0.2.0
description:
  - Lists security groups by name and location, across every cloud when no
    location is given, canopy's global groups included. Clouds that could
    not answer are reported in RV(cloud_errors); the list holds the others.
  - The counterpart of C(openstack.cloud.security_group_info). Never changes
    anything.
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  name:
    description:
      - Only groups with exactly this name.
    type: str
  id:
    description:
      - One group by canopy id (or name, as canopy resolves it); the other
        filters are then ignored.
    type: str
  scope:
    description:
      - Only local groups (of one cloud; global groups' realizations
        included) or only canopy's global ones.
    type: str
    choices: [local, global]
  labels:
    description:
      - Only groups that carry all these labels.
    type: dict
'''

EXAMPLES = r'''
- name: The groups of the east cloud
  canopy.cloud.security_group_info:
    cloud: east
  register: result
'''

RETURN = r'''
security_groups:
  description: The matching groups with their rules, as canopy returns them.
  returned: always
  type: list
  elements: dict
  sample: [{id: 02e21d4c-d040-55fe-a3d2-a6d75dad78b3, name: default, rules: []}]
cloud_errors:
  description: Clouds that could not answer (cloud, code, message).
  returned: always
  type: list
  elements: dict
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import CanopyModule, run_info
from ansible_collections.canopy.cloud.plugins.module_utils.network import is_global, str_labels


def main():
    cm = CanopyModule('security_group_info', dict(
        name=dict(type='str'),
        id=dict(type='str'),
        scope=dict(type='str', choices=['local', 'global']),
        labels=dict(type='dict'),
    ), supports_check_mode=True)
    p = cm.params
    q = {}
    if p['labels']:
        q['labels'] = str_labels(p['labels'])

    def keep(g):
        return not p['scope'] or is_global(g) == (p['scope'] == 'global')
    cm.run(lambda: run_info(cm, 'securityGroups', 'security_groups', q, p['id'], p['name'], keep=keep))


if __name__ == '__main__':
    main()
