#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: container_info
short_description: List containers of every cloud canopy fronts
version_added: 0.1.0
description:
  - Lists containers by name, state, labels and location, across every
    container cloud when no location is given (canopy fans out and merges).
    Clouds that could not answer are reported in RV(cloud_errors); the list
    holds the others.
  - Never changes anything.
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
notes:
  - For containers the O(zone) is the container host.
options:
  name:
    description:
      - Only containers with exactly this name.
    type: str
  id:
    description:
      - One of them by canopy id (or name, as canopy resolves it); the other
        filters are then ignored.
    type: str
  state:
    description:
      - Only containers in this lifecycle state.
    type: str
    choices: [creating, created, running, paused, restarting, stopped, deleting, dead, error, unknown]
  labels:
    description:
      - Only containers that carry all these labels.
    type: dict
'''

EXAMPLES = r'''
- name: Running containers of the east cloud
  canopy.cloud.container_info:
    cloud: east
    state: running
  register: result

- name: One by name
  canopy.cloud.container_info:
    id: web
  register: result
'''

RETURN = r'''
containers:
  description: The matching containers, as canopy returns them (C(memory_mib)
    as an integer).
  returned: always
  type: list
  elements: dict
  sample: [{id: 06ac2372-6d1a-4781-8864-6398c05929b6, name: web, state: STATE_RUNNING, ready: true}]
cloud_errors:
  description: Clouds that could not answer (cloud, code, message).
  returned: always
  type: list
  elements: dict
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import (
    CanopyModule, location_query, matches_location, path_id)
from ansible_collections.canopy.cloud.plugins.module_utils.container import (
    STATES, normalize_container, state_enum)


def main():
    cm = CanopyModule('container_info', dict(
        name=dict(type='str'),
        id=dict(type='str'),
        state=dict(type='str', choices=list(STATES)),
        labels=dict(type='dict'),
    ), supports_check_mode=True)
    cm.run(lambda: run(cm))


def run(cm):
    p = cm.params
    errors = []
    if p['id']:
        c = cm.client.get_or_none('/v1/containers/%s' % path_id(p['id']))
        items = [c] if c is not None else []
    else:
        q = {}
        if p['name']:
            q['name'] = p['name']
        if p['state']:
            q['state'] = state_enum(p['state'])
        if p['labels']:
            q['labels'] = dict((k, str(v)) for k, v in p['labels'].items())
        loc = location_query(p)
        if loc:
            q['location'] = loc
        items, errors = cm.client.list_all('/v1/containers', 'containers', query=q)
        items = [i for i in items if matches_location(i, p)]
        if p['name']:
            items = [i for i in items if i.get('name') == p['name']]
    cm.module.exit_json(changed=False, cloud_errors=errors, containers=[normalize_container(i) for i in items])


if __name__ == '__main__':
    main()
