#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: volume_snapshot_info
short_description: List volume snapshots of every cloud canopy fronts
version_added: 0.1.0
description:
  - Lists volume snapshots by name and location, across every cloud when no location
    is given (canopy fans out and merges). Clouds that could not answer are
    reported in RV(cloud_errors); the list holds the others.
  - The counterpart of C(openstack.cloud.volume_snapshot_info). Never changes anything.
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  name:
    description:
      - Only volume snapshots with exactly this name.
    type: str
  id:
    description:
      - One of them by canopy id (or name, as canopy resolves it); the
        location filters are then ignored.
    type: str
  volume:
    description:
      - Only snapshots of this volume (canopy id).
    type: str
'''

EXAMPLES = r'''
- name: Snapshots of one volume
  canopy.cloud.volume_snapshot_info:
    volume: 4eaacd8c-6e8a-4380-a0e6-8941a0c44c22
  register: result
'''

RETURN = r'''
volume_snapshots:
  description: The matching volume snapshots, as canopy returns them.
  returned: always
  type: list
  elements: dict
  sample: [{id: 2d0b..., name: nightly, volume_id: 4eaacd8c-6e8a-4380-a0e6-8941a0c44c22}]
cloud_errors:
  description: Clouds that could not answer (cloud, code, message).
  returned: always
  type: list
  elements: dict
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import (
    CanopyModule, run_info)


def main():
    cm = CanopyModule('volume_snapshot_info', dict(
        name=dict(type='str'),
        id=dict(type='str'),
        volume=dict(type='str'),
    ), supports_check_mode=True)
    p = cm.params
    q = {}
    if p['volume']:
        q['volume_id'] = p['volume']
    cm.run(lambda: run_info(cm, 'snapshots', 'snapshots', q, p['id'], p['name'], out_key='volume_snapshots'))


if __name__ == '__main__':
    main()
