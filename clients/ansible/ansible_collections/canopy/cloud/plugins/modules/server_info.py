#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: server_info
short_description: List servers of every cloud canopy fronts
version_added: 0.1.0
description:
  - Lists servers by name and location, across every cloud when no location
    is given (canopy fans out and merges). Clouds that could not answer are
    reported in RV(cloud_errors); the list holds the others.
  - The counterpart of C(openstack.cloud.server_info). Never changes anything.
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  name:
    description:
      - Only servers with exactly this name.
    type: str
  id:
    description:
      - One of them by canopy id (or name, as canopy resolves it); the
        location filters are then ignored.
    type: str
  status:
    description:
      - Only servers in this normalized status, for example V(STATUS_ACTIVE)
        (or V(active)).
    type: str
  labels:
    description:
      - Only servers that carry all these labels.
    type: dict
'''

EXAMPLES = r'''
- name: Every active server of the west cloud
  canopy.cloud.server_info:
    cloud: west
    status: STATUS_ACTIVE
  register: result
'''

RETURN = r'''
servers:
  description: The matching servers, as canopy returns them.
  returned: always
  type: list
  elements: dict
  sample: [{id: c1b4d220-bcc4-4c4a-9f05-80a89ee8cf48, name: web1, status: STATUS_ACTIVE}]
cloud_errors:
  description: Clouds that could not answer (cloud, code, message).
  returned: always
  type: list
  elements: dict
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import (
    CanopyModule, run_info, status_enum)


def main():
    cm = CanopyModule('server_info', dict(
        name=dict(type='str'),
        id=dict(type='str'),
        status=dict(type='str'), labels=dict(type='dict'),
    ), supports_check_mode=True)
    p = cm.params
    q = {}
    if p['status']:
        q['status'] = status_enum(p['status'])
    if p['labels']:
        q['labels'] = dict((k, str(v)) for k, v in p['labels'].items())
    cm.run(lambda: run_info(cm, 'servers', 'servers', q, p['id'], p['name']))


if __name__ == '__main__':
    main()
