#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: volume_backup
short_description: Create or delete a volume backup in any cloud canopy fronts
version_added: 0.1.0
description:
  - Makes a backup of a volume, by name, or deletes it. The counterpart of
    C(openstack.cloud.volume_backup).
  - Where the cloud has no volume backups canopy emulates them (the volume's
    data kept as objects) and marks the backup C(emulated). M(canopy.cloud.volume) with
    O(canopy.cloud.volume#module:backup) restores one into a new volume.
  - The create and the delete are durable canopy operations; with O(wait) the
    module waits for them, else it returns the operation under RV(operation).
  - An existing backup is never changed; when O(description) or O(labels)
    differ the module warns.
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  name:
    description:
      - The backup name; with O(volume) and the location it identifies the
        backup.
      - The create's C(request_id) is a UUIDv5 of the module name, O(name), the
        volume's canopy id, O(description) and O(labels).
    type: str
    required: true
  state:
    description:
      - V(present) makes sure the backup exists, V(absent) that it does not.
    type: str
    choices: [present, absent]
    default: present
  volume:
    description:
      - The volume (canopy id or name). Required to create.
    type: str
  description:
    description:
      - A description.
    type: str
  labels:
    description:
      - Labels to set on a new backup.
    type: dict
'''

EXAMPLES = r'''
- name: A backup of the data volume
  canopy.cloud.volume_backup:
    name: nightly
    volume: data

- name: Delete it
  canopy.cloud.volume_backup:
    name: nightly
    volume: data
    state: absent
'''

RETURN = r'''
volume_backup:
  description: The backup; C(null) after a delete.
  returned: always
  type: dict
  sample:
    id: 08603604-cfdf-493b-938d-3cb50019f769
    name: nightly
    volume_id: f0bcc7cc-8bf2-41de-8115-ff809562bd72
    size_gib: 1
    status: STATUS_ACTIVE
operation:
  description: The canopy operation that made the change.
  returned: when something changed (not in check mode)
  type: dict
request_id:
  description: The idempotency key the create sent.
  returned: when a backup was created
  type: str
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import (
    CanopyModule, run_volume_copy)


def main():
    cm = CanopyModule('volume_backup', dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        volume=dict(type='str'),
        description=dict(type='str'),
        labels=dict(type='dict'),
    ), supports_check_mode=True)
    cm.run(lambda: run_volume_copy(cm, 'backups', 'backup'))


if __name__ == '__main__':
    main()
