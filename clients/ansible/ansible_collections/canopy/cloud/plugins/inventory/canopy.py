# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: canopy
short_description: Every server of every cloud canopy knows
version_added: 0.1.0
description:
  - Lists the servers of every cloud canopyd fronts (one fanned-out
    C(GET /v1/servers)) and groups them by cloud, region, zone, status and
    labels, with addresses, flavor, image and ids as host variables. The
    counterpart of C(openstack.cloud.openstack) for all of canopy's clouds.
  - The inventory file must end in C(canopy.yml) or C(canopy.yaml) and set
    O(plugin) to V(canopy.cloud.canopy).
  - A cloud that cannot answer is reported as a warning; the servers of the
    others are still listed (O(strict_clouds) makes it an error).
author:
  - canopy developers (@canopy-cloud)
extends_documentation_fragment:
  - constructed
options:
  plugin:
    description: The name of this plugin.
    required: true
    choices: [canopy.cloud.canopy]
    type: str
  api_url:
    description:
      - Base URL of canopyd's REST API. Defaults to E(CANOPY_API_URL), else
        the address of the credentials file's C(token_url), else
        V(http://127.0.0.1:8471).
    type: str
    env:
      - name: CANOPY_API_URL
  credentials_file:
    description:
      - A canopy credentials file (C(client_id), C(client_secret),
        C(token_url)). Defaults to E(CANOPY_CREDENTIALS), else
        C(~/.config/canopy/credentials.json).
    type: path
    env:
      - name: CANOPY_CREDENTIALS
  client_id:
    description: OAuth 2 client id (client-credentials grant).
    type: str
    env:
      - name: CANOPY_CLIENT_ID
  client_secret:
    description: The secret of O(client_id).
    type: str
    env:
      - name: CANOPY_CLIENT_SECRET
  token:
    description: A bearer token to use as is.
    type: str
    env:
      - name: CANOPY_TOKEN
  validate_certs:
    description: Whether to verify canopyd's TLS certificate.
    type: bool
    default: true
  ca_cert:
    description: A PEM file of CA certificates to verify canopyd with.
    type: path
  timeout:
    description: Seconds to wait for canopyd's answer.
    type: int
    default: 60
  clouds:
    description: Only servers of these canopy clouds; empty means all.
    type: list
    elements: str
    default: []
  only_active:
    description: Only servers whose status is C(STATUS_ACTIVE).
    type: bool
    default: false
  hostname:
    description:
      - What to name hosts. V(name) uses the server name and, when several
        servers share a name, their canopy id for all but the first; V(id)
        always uses the canopy id.
    type: str
    choices: [name, id]
    default: name
  group_prefix:
    description: Prefix of the groups the plugin makes.
    type: str
    default: canopy_
  strict_clouds:
    description: Fail when a cloud cannot answer, instead of warning.
    type: bool
    default: false
'''

EXAMPLES = r'''
# canopy.yml
plugin: canopy.cloud.canopy
credentials_file: ~/.config/canopy/credentials.json
# groups made: canopy (all), canopy_cloud_east, canopy_region_sim_1,
# canopy_zone_east_1a, canopy_status_active, canopy_label_role_web
keyed_groups:
  - key: canopy_labels.env | default('none')
    prefix: env
compose:
  ansible_user: "'debian'"
'''

import re

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable
from ansible_collections.canopy.cloud.plugins.module_utils.canopy import (
    CanopyClient, CanopyError)


def safe(value):
    return re.sub(r'[^A-Za-z0-9_]', '_', str(value)).lower()


def first_ip(addresses):
    """The address to reach a server by: floating before fixed, v4 before v6."""
    def rank(a):
        return (0 if a.get('type') == 'floating' else 1, 0 if a.get('version', 4) == 4 else 1)
    for a in sorted(addresses or [], key=rank):
        if a.get('ip'):
            return a['ip']
    return None


class InventoryModule(BaseInventoryPlugin, Constructable):

    NAME = 'canopy.cloud.canopy'

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and \
            path.endswith(('canopy.yml', 'canopy.yaml'))

    def client(self):
        return CanopyClient(
            api_url=self.get_option('api_url'), credentials_file=self.get_option('credentials_file'),
            client_id=self.get_option('client_id'), client_secret=self.get_option('client_secret'),
            token=self.get_option('token'), validate_certs=self.get_option('validate_certs'),
            ca_cert=self.get_option('ca_cert'), timeout=self.get_option('timeout'))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        try:
            cl = self.client()
            servers, errors = cl.list_all('/v1/servers', 'servers')
            flavors, dummy = cl.list_all('/v1/flavors', 'flavors')
            images, dummy = cl.list_all('/v1/images', 'images')
        except CanopyError as e:
            raise AnsibleError('canopy inventory: %s' % to_native(e.describe()))
        for err in errors:
            msg = 'canopy inventory: cloud %s did not answer: %s' % (err.get('cloud'), err.get('message'))
            if self.get_option('strict_clouds'):
                raise AnsibleError(msg)
            self.display.warning(msg)
        self.populate(servers, dict((f['id'], f) for f in flavors), dict((i['id'], i) for i in images))

    def populate(self, servers, flavors, images):
        prefix = self.get_option('group_prefix')
        wanted = set(self.get_option('clouds') or [])
        strict = self.get_option('strict')
        root = self.inventory.add_group(prefix.rstrip('_') or 'canopy')
        seen = set()
        for s in sorted(servers, key=lambda s: (s.get('location', {}).get('cloud', ''), s.get('name', ''), s.get('id', ''))):
            loc = s.get('location') or {}
            if wanted and loc.get('cloud') not in wanted:
                continue
            if self.get_option('only_active') and s.get('status') != 'STATUS_ACTIVE':
                continue
            if s.get('status') in ('STATUS_DELETED',):
                continue
            host = s['id'] if self.get_option('hostname') == 'id' or s.get('name') in seen or not s.get('name') else s['name']
            seen.add(host)
            self.inventory.add_host(host, group=root)
            flavor = flavors.get(s.get('flavor_id')) or {}
            image = images.get(s.get('image_id')) or {}
            hostvars = dict(
                canopy_id=s.get('id'),
                canopy_native_id=s.get('native_id'),
                canopy_name=s.get('name'),
                canopy_cloud=loc.get('cloud'),
                canopy_region=loc.get('region'),
                canopy_zone=loc.get('zone'),
                canopy_project=loc.get('project'),
                canopy_status=s.get('status'),
                canopy_provider_status=s.get('provider_status'),
                canopy_labels=s.get('labels') or {},
                canopy_properties=s.get('properties') or {},
                canopy_addresses=s.get('addresses') or [],
                canopy_flavor_id=s.get('flavor_id'),
                canopy_flavor=flavor.get('name'),
                canopy_vcpus=flavor.get('vcpus'),
                canopy_ram_mib=flavor.get('ram_mib'),
                canopy_image_id=s.get('image_id'),
                canopy_image=image.get('name'),
                canopy_keypair=s.get('keypair'),
                canopy_server=s,
            )
            ip = first_ip(s.get('addresses'))
            if ip:
                hostvars['ansible_host'] = ip
            for k, v in hostvars.items():
                self.inventory.set_variable(host, k, v)

            groups = [('cloud', loc.get('cloud')), ('region', loc.get('region')),
                      ('zone', loc.get('zone')),
                      ('status', (s.get('status') or '').replace('STATUS_', ''))]
            for lk, lv in sorted((s.get('labels') or {}).items()):
                groups.append(('label', '%s_%s' % (lk, lv)))
            for kind, value in groups:
                if not value:
                    continue
                g = self.inventory.add_group('%s%s_%s' % (prefix, kind, safe(value)))
                self.inventory.add_child(g, host)

            self._set_composite_vars(self.get_option('compose'), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option('groups'), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option('keyed_groups'), hostvars, host, strict=strict)
