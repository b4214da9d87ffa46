# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # Connection, authentication and waiting: shared by every module.
    DOCUMENTATION = r'''
options:
  api_url:
    description:
      - Base URL of canopyd's REST API, for example V(http://127.0.0.1:8471).
      - Defaults to E(CANOPY_API_URL), else the address the credentials file's
        C(token_url) points at, else V(http://127.0.0.1:8471).
    type: str
  credentials_file:
    description:
      - A canopy credentials file (JSON with C(client_id), C(client_secret) and
        C(token_url)), as canopyd writes it on its first start.
      - Defaults to E(CANOPY_CREDENTIALS), else
        C($XDG_CONFIG_HOME/canopy/credentials.json), else
        C(~/.config/canopy/credentials.json).
      - Used when neither O(token) nor O(client_id) is given.
    type: path
  client_id:
    description:
      - OAuth 2 client id; tokens are fetched with the client-credentials grant
        from C(<api_url>/oauth2/token). Defaults to E(CANOPY_CLIENT_ID).
    type: str
  client_secret:
    description:
      - The secret of O(client_id). Defaults to E(CANOPY_CLIENT_SECRET).
    type: str
  token:
    description:
      - A bearer token to use as is instead of client credentials.
        Defaults to E(CANOPY_TOKEN).
    type: str
  validate_certs:
    description:
      - Whether to verify canopyd's TLS certificate.
    type: bool
    default: true
  ca_cert:
    description:
      - A PEM file of CA certificates to verify canopyd's certificate with.
    type: path
    aliases: [cacert]
  wait:
    description:
      - Wait until the change is complete (the resource active, deleted, or its
        operation done) before returning.
    type: bool
    default: true
  timeout:
    description:
      - How long to wait, in seconds, for a change to complete and for each
        HTTP request.
    type: int
    default: 600
notes:
  - Tokens obtained with client credentials are cached for the run in
    C($XDG_CACHE_HOME/canopy/ansible/) (mode 0600, keyed by a hash of the token
    URL, client id and secret) until shortly before they expire, so a playbook fetches one token, not
    one per task. A cached token that canopyd refuses is dropped and a new one
    fetched once.
  - Bad input is reported as C(msg) naming the offending field, from the
    C(google.rpc.BadRequest) canopyd returns.
'''

    # Where a resource lives: for modules whose resources are keyed by name
    # and location.
    LOCATION = r'''
options:
  cloud:
    description:
      - The canopy cloud (see C(GET /v1/clouds)) the resource lives in. On a
        create it chooses the cloud; it may be left out when O(zone) routes to
        one, or when canopy fronts a single cloud.
      - On a look-up by name it narrows the search.
    type: str
  region:
    description:
      - The cloud's region.
    type: str
  zone:
    description:
      - The availability zone. On a create a zone alone is enough when canopy's
        zone-to-cloud map knows it.
    type: str
'''
