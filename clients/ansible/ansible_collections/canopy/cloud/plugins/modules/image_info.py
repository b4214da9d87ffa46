#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: image_info
short_description: List images of every cloud canopy fronts
version_added: 0.1.0
description:
  - Lists images by name and location, across every cloud when no location
    is given (canopy fans out and merges). Clouds that could not answer are
    reported in RV(cloud_errors); the list holds the others.
  - The counterpart of C(openstack.cloud.image_info). Never changes anything.
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  name:
    description:
      - Only images with exactly this name.
    type: str
  id:
    description:
      - One of them by canopy id (or name, as canopy resolves it); the
        location filters are then ignored.
    type: str
  status:
    description:
      - Only images in this normalized status.
    type: str
'''

EXAMPLES = r'''
- name: Images called debian-12, in every cloud
  canopy.cloud.image_info:
    name: debian-12
  register: result
'''

RETURN = r'''
images:
  description: The matching images, as canopy returns them.
  returned: always
  type: list
  elements: dict
  sample: [{id: b0d27232-9c90-5248-902e-593cc2738172, name: debian-12}]
cloud_errors:
  description: Clouds that could not answer (cloud, code, message).
  returned: always
  type: list
  elements: dict
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import (
    CanopyModule, run_info, status_enum)


def main():
    cm = CanopyModule('image_info', dict(
        name=dict(type='str'),
        id=dict(type='str'),
        status=dict(type='str'),
    ), supports_check_mode=True)
    p = cm.params
    q = {}
    if p['status']:
        q['status'] = status_enum(p['status'])
    cm.run(lambda: run_info(cm, 'images', 'images', q, p['id'], p['name']))


if __name__ == '__main__':
    main()
