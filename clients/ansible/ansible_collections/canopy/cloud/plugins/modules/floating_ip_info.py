#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: floating_ip_info
short_description: List floating IPs of every cloud canopy fronts
version_added: 0.2.0
description:
  - Lists floating IPs, across every cloud when no location is given; by
    server, by address, or only free ones. Clouds that could not answer are
    reported in RV(cloud_errors); the list holds the others.
  - The counterpart of C(openstack.cloud.floating_ip_info). Never changes
    anything.
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - canopy.cloud.canopy
  - canopy.cloud.canopy.location
options:
  floating_ip_address:
    description:
      - One floating IP by address (or canopy id); the other filters are
        then ignored.
    type: str
  server:
    description:
      - Only those associated with this server (canopy id or name, in
        O(cloud) when given).
    type: str
  free:
    description:
      - V(true) lists only floating IPs associated with nothing, V(false)
        only associated ones.
    type: bool
  labels:
    description:
      - Only floating IPs that carry all these labels.
    type: dict
'''

EXAMPLES = r'''
- name: Free floating IPs of the east cloud
  canopy.cloud.floating_ip_info:
    cloud: east
    free: true
  register: result
'''

RETURN = r'''
floating_ips:
  description: The matching floating IPs, as canopy returns them.
  returned: always
  type: list
  elements: dict
  sample: [{id: d8765569-d945-4cd2-b754-cd3974817274, ip: 203.0.113.3, server_id: dd45339b-e2fb-4a60-ba5f-355ee2784131}]
cloud_errors:
  description: Clouds that could not answer (cloud, code, message).
  returned: always
  type: list
  elements: dict
'''

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import CanopyModule, run_info
from ansible_collections.canopy.cloud.plugins.module_utils.network import find_server, net_location, str_labels


def main():
    cm = CanopyModule('floating_ip_info', dict(
        floating_ip_address=dict(type='str'),
        server=dict(type='str'),
        free=dict(type='bool'),
        labels=dict(type='dict'),
    ), supports_check_mode=True)
    p = cm.params
    q = {}
    if p['labels']:
        q['labels'] = str_labels(p['labels'])

    def keep(f):
        return p['free'] is None or (not f.get('port_id')) == p['free']
    cm.run(lambda: run(cm, q, keep))


def run(cm, q, keep):
    p = cm.params
    if p['server'] and not p['floating_ip_address']:
        # Resolved here, in the cloud when given: canopyd refuses a name
        # that servers of several clouds have.
        server = find_server(cm, p['server'], net_location(cm).get('cloud'))
        if server is None:
            cm.module.exit_json(changed=False, cloud_errors=[], floating_ips=[])
        q['server'] = server['id']
    run_info(cm, 'floatingIps', 'floating_ips', q, p['floating_ip_address'], keep=keep)


if __name__ == '__main__':
    main()
