#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: operation_info
short_description: Look at canopy's durable operations
version_added: 0.1.0
description:
  - Gets one operation by id, optionally waiting for it to finish, or lists
    operations by target, kind or whether they are unfinished. Volume,
    snapshot and backup changes run as operations.
  - No counterpart in openstack.cloud (OpenStack has no operations API).
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
options:
  id:
    description:
      - One operation by id.
    type: str
  target_id:
    description:
      - Only operations on this resource (canopy id).
    type: str
  kind:
    description:
      - Only operations of this kind, for example V(volume.create).
    type: str
  unfinished_only:
    description:
      - Only operations that are not done.
    type: bool
    default: false
  wait:
    description:
      - With O(id), wait (up to O(timeout)) until the operation is done. A
        failed operation does not fail the task; look at its C(error).
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Wait for the volume's create to finish
  canopy.cloud.operation_info:
    id: "{{ created.operation.id }}"
    wait: true

- name: Unfinished operations
  canopy.cloud.operation_info:
    unfinished_only: true
'''

RETURN = r'''
operations:
  description: The matching operations.
  returned: always
  type: list
  elements: dict
  sample: [{id: 85012c49-17c3-4c98-a021-dbac131d6612, done: true, metadata: {kind: volume.create}}]
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import (
    CanopyError, CanopyModule, path_id)


def main():
    cm = CanopyModule('operation_info', dict(
        id=dict(type='str'),
        target_id=dict(type='str'),
        kind=dict(type='str'),
        unfinished_only=dict(type='bool', default=False),
        wait=dict(type='bool', default=False),
    ), location=False, supports_check_mode=True)
    cm.run(lambda: run(cm))


def run(cm):
    p = cm.params
    if p['id']:
        op = cm.client.get_or_none('/v1/operations/%s' % path_id(p['id']))
        if op is not None and p['wait']:
            try:
                op = cm.client.wait_operation(op, p['timeout'])
            except CanopyError:
                # A failed operation is an answer, not a failure of this task.
                op = cm.client.get('/v1/operations/%s' % path_id(p['id']))
                if not op.get('done'):
                    raise
        cm.module.exit_json(changed=False, operations=[op] if op else [])
    q = dict(target_id=p['target_id'], kind=p['kind'])
    if p['unfinished_only']:
        q['unfinished_only'] = True
    ops, dummy = cm.client.list_all('/v1/operations', 'operations', query=q)
    cm.module.exit_json(changed=False, operations=ops)


if __name__ == '__main__':
    main()
