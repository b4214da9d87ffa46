#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: keypair_info
short_description: List keypairs of every cloud canopy fronts
version_added: 0.1.0
description:
  - Lists keypairs by name and location, across every cloud when no location
    is given (canopy fans out and merges). Clouds that could not answer are
    reported in RV(cloud_errors); the list holds the others.
  - The counterpart of C(openstack.cloud.keypair_info). Never changes anything.
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  name:
    description:
      - Only keypairs with exactly this name.
    type: str
  id:
    description:
      - One of them by canopy id (or name, as canopy resolves it); the
        location filters are then ignored.
    type: str
'''

EXAMPLES = r'''
- name: Keypairs of the east cloud
  canopy.cloud.keypair_info:
    cloud: east
  register: result
'''

RETURN = r'''
keypairs:
  description: The matching keypairs, as canopy returns them.
  returned: always
  type: list
  elements: dict
  sample: [{id: 48c0fa6b-ad14-4d70-a2a1-71f5daa62a08, name: k1, fingerprint: '32:82:da:fa'}]
cloud_errors:
  description: Clouds that could not answer (cloud, code, message).
  returned: always
  type: list
  elements: dict
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import (
    CanopyModule, run_info)


def main():
    cm = CanopyModule('keypair_info', dict(
        name=dict(type='str'),
        id=dict(type='str'),

    ), supports_check_mode=True)
    p = cm.params
    q = {}
    cm.run(lambda: run_info(cm, 'keypairs', 'keypairs', q, p['id'], p['name']))


if __name__ == '__main__':
    main()
