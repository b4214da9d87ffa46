# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Talks to canopyd's REST API with nothing but ansible-core (open_url).

CanopyClient authenticates (a token, or client credentials from the options
or the credentials file, with the token cached on disk for the run), sends
JSON requests, turns canopy's error bodies (google.rpc.Status with
BadRequest field violations) into CanopyError, pages through lists and waits
for durable operations.

CanopyModule wraps AnsibleModule with the shared options, look-ups by name
and location, the deterministic request_id of creates, and exit/fail
helpers that return the resource under its kind's name.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid

from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import quote, urlencode
from ansible.module_utils.urls import open_url

DEFAULT_API_URL = 'http://127.0.0.1:8471'

# The namespace of every request_id the collection derives (uuid5).
REQUEST_ID_NAMESPACE = uuid.UUID('7f0c2f3e-3c1a-5d7e-9b0e-63616e6f7079')

# Options every module takes (documented in doc_fragments/canopy.py).
COMMON_ARGS = dict(
    api_url=dict(type='str', fallback=(env_fallback, ['CANOPY_API_URL'])),
    credentials_file=dict(type='path', fallback=(env_fallback, ['CANOPY_CREDENTIALS'])),
    client_id=dict(type='str', fallback=(env_fallback, ['CANOPY_CLIENT_ID'])),
    client_secret=dict(type='str', no_log=True, fallback=(env_fallback, ['CANOPY_CLIENT_SECRET'])),
    token=dict(type='str', no_log=True, fallback=(env_fallback, ['CANOPY_TOKEN'])),
    validate_certs=dict(type='bool', default=True),
    ca_cert=dict(type='path', aliases=['cacert']),
    wait=dict(type='bool', default=True),
    timeout=dict(type='int', default=600),
)

LOCATION_ARGS = dict(
    cloud=dict(type='str'),
    region=dict(type='str'),
    zone=dict(type='str'),
)

# int64 fields protojson renders as strings; turned back into ints.
INT64_FIELDS = frozenset([
    'ram_mib', 'disk_gib', 'size_bytes', 'min_disk_gib', 'min_ram_mib',
    'size_gib', 'object_count',
])


class CanopyError(Exception):
    """A failed call: HTTP status, google.rpc code, message and details."""

    def __init__(self, message, status=None, code=None, details=None, body=None):
        super(CanopyError, self).__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details = details or []
        self.body = body

    @property
    def field_violations(self):
        out = []
        for d in self.details:
            if isinstance(d, dict) and d.get('@type', '').endswith('google.rpc.BadRequest'):
                for v in d.get('field_violations') or d.get('fieldViolations') or []:
                    out.append((v.get('field', ''), v.get('description', '')))
        return out

    @property
    def not_found(self):
        return self.status == 404 or self.code == 5

    def describe(self, options=None):
        """The message a user sees: the fields canopy named, else its words.

        options maps canopy's field names to the module's option names where
        they differ (size_gib -> size)."""
        fv = self.field_violations
        if fv:
            options = options or {}

            def field(f):
                if f in options:
                    return '%s (option %s)' % (f, options[f])
                return f
            parts = ['%s: %s' % (field(f), d) if f else d for f, d in fv]
            return 'canopy rejected field %s' % '; '.join(parts)
        return self.message


def normalize(value):
    """protojson output made friendlier: int64 strings become ints."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in INT64_FIELDS and isinstance(v, str):
                try:
                    v = int(v)
                except ValueError:
                    pass
            out[k] = normalize(v)
        return out
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return value


def default_credentials_file():
    base = os.environ.get('XDG_CONFIG_HOME') or os.path.join(os.path.expanduser('~'), '.config')
    return os.path.join(base, 'canopy', 'credentials.json')


def token_cache_dir():
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(base, 'canopy', 'ansible')


def derive_request_id(kind, identity, generation=0):
    """The request_id of a create: uuid5 over the kind and the identity.

    identity is a dict of the task's arguments that define the resource
    (name, location and the create arguments); the same task run again, or
    retried after a lost answer, sends the same id, so canopy returns the
    first attempt's resource instead of making a second one. generation is
    raised only when canopy answers a replayed id with a resource that has
    since been deleted (a later re-create of the same thing).
    """
    payload = json.dumps({'kind': kind, 'identity': identity, 'generation': generation},
                         sort_keys=True, separators=(',', ':'))
    return str(uuid.uuid5(REQUEST_ID_NAMESPACE, payload))


class CanopyClient(object):
    """A small REST client for canopyd."""

    def __init__(self, api_url=None, credentials_file=None, client_id=None,
                 client_secret=None, token=None, validate_certs=True,
                 ca_cert=None, timeout=600, cache_tokens=True):
        self.validate_certs = validate_certs
        self.ca_cert = ca_cert
        self.timeout = timeout
        self.cache_tokens = cache_tokens
        self._token = token
        self._static_token = bool(token)
        self.client_id = client_id
        self.client_secret = client_secret
        token_url = None
        if not token and not client_id:
            path = credentials_file or os.environ.get('CANOPY_CREDENTIALS') or default_credentials_file()
            try:
                with open(path) as f:
                    creds = json.load(f)
            except (IOError, OSError, ValueError) as e:
                raise CanopyError('no token or client_id given and credentials file %s unreadable: %s'
                                  % (path, to_native(e)))
            self.client_id = creds.get('client_id')
            self.client_secret = creds.get('client_secret')
            token_url = creds.get('token_url')
            if not self.client_id or not self.client_secret:
                raise CanopyError('credentials file %s has no client_id/client_secret' % path)
        elif client_id and not client_secret:
            raise CanopyError('client_id given without client_secret')
        if not api_url and token_url and token_url.endswith('/oauth2/token'):
            api_url = token_url[:-len('/oauth2/token')]
        self.api_url = (api_url or DEFAULT_API_URL).rstrip('/')
        self.token_url = token_url or self.api_url + '/oauth2/token'

    # --- tokens -----------------------------------------------------------

    def _cache_path(self):
        # The secret is part of the key: a token is reused only by a caller
        # who could have fetched it (a wrong secret never finds one).
        key = hashlib.sha256(('%s\n%s\n%s' % (self.token_url, self.client_id, self.client_secret))
                             .encode('utf-8')).hexdigest()[:32]
        return os.path.join(token_cache_dir(), 'token-%s.json' % key)

    def _read_cache(self):
        if not self.cache_tokens:
            return None
        try:
            with open(self._cache_path()) as f:
                c = json.load(f)
        except (IOError, OSError, ValueError):
            return None
        if c.get('expires_at', 0) - 30 > time.time() and c.get('access_token'):
            return c['access_token']
        return None

    def _write_cache(self, token, expires_in):
        if not self.cache_tokens:
            return
        path = self._cache_path()
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            tmp = '%s.%d' % (path, os.getpid())
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, 'w') as f:
                json.dump({'access_token': token, 'expires_at': time.time() + int(expires_in)}, f)
            os.rename(tmp, path)
        except (IOError, OSError):
            pass  # a cache that cannot be written only costs a token request

    def _drop_cache(self):
        try:
            os.unlink(self._cache_path())
        except (IOError, OSError):
            pass

    def _fetch_token(self):
        data = urlencode({'grant_type': 'client_credentials'})
        try:
            resp = open_url(self.token_url, data=data, method='POST',
                            headers={'Content-Type': 'application/x-www-form-urlencoded',
                                     'Accept': 'application/json'},
                            url_username=self.client_id, url_password=self.client_secret,
                            force_basic_auth=True, validate_certs=self.validate_certs,
                            ca_path=self.ca_cert, timeout=min(self.timeout, 60), use_proxy=True)
            body = json.loads(to_text(resp.read()))
        except HTTPError as e:
            raise CanopyError('token request to %s refused (HTTP %d): %s'
                              % (self.token_url, e.code, to_native(e.read())), status=e.code)
        except (URLError, IOError, OSError, ValueError) as e:
            raise CanopyError('token request to %s failed: %s' % (self.token_url, to_native(e)))
        tok = body.get('access_token')
        if not tok:
            raise CanopyError('token response from %s has no access_token' % self.token_url)
        self._write_cache(tok, body.get('expires_in', 300))
        return tok

    def token(self, fresh=False):
        if self._static_token:
            return self._token
        if fresh:
            self._drop_cache()
            self._token = None
        if not self._token:
            self._token = self._read_cache() or self._fetch_token()
        return self._token

    # --- requests ---------------------------------------------------------

    def url(self, path, query=None):
        u = self.api_url + path
        if query:
            q = [(k, v) for k, v in flatten_query(query) if v not in (None, '')]
            if q:
                u += '?' + urlencode(q)
        return u

    def raw(self, method, path, query=None, data=None, headers=None, timeout=None):
        """Sends a request; returns the open response. Retries once on 401."""
        hdrs = dict(headers or {})
        # canopy bounds its own waits by the call's deadline: the gateway
        # takes it from Grpc-Timeout, so a wait ends when the module's does.
        # The socket waits a little longer, so that canopy's answer (its
        # DEADLINE_EXCEEDED included) arrives before the connection gives up.
        hdrs.setdefault('Grpc-Timeout', '%dS' % (timeout or self.timeout))
        for attempt in (0, 1):
            hdrs['Authorization'] = 'Bearer %s' % self.token(fresh=attempt == 1)
            try:
                return open_url(self.url(path, query), data=data, method=method, headers=hdrs,
                                validate_certs=self.validate_certs, ca_path=self.ca_cert,
                                timeout=(timeout or self.timeout) + 15, follow_redirects='none',
                                use_netrc=False)
            except HTTPError as e:
                err = error_from_http(e, method, path)
                if e.code == 401 and attempt == 0 and not self._static_token:
                    if hasattr(data, 'seek'):
                        data.seek(0)
                    continue
                raise err
            except (URLError, IOError, OSError) as e:
                raise CanopyError('%s %s: %s' % (method, self.url(path), to_native(e)))
        raise CanopyError('unreachable')  # pragma: no cover

    def call(self, method, path, body=None, query=None, timeout=None):
        data = None
        headers = {'Accept': 'application/json'}
        if body is not None:
            data = json.dumps(body)
            headers['Content-Type'] = 'application/json'
        resp = self.raw(method, path, query=query, data=data, headers=headers, timeout=timeout)
        text = to_text(resp.read())
        if not text:
            return {}
        try:
            return normalize(json.loads(text))
        except ValueError:
            raise CanopyError('%s %s: answer is not JSON: %s' % (method, path, text[:200]))

    def get(self, path, query=None):
        return self.call('GET', path, query=query)

    def get_or_none(self, path, query=None):
        try:
            return self.get(path, query=query)
        except CanopyError as e:
            if e.not_found:
                return None
            raise

    def list_all(self, path, key, query=None, limit=None):
        """Every item of a paged list; returns (items, cloud_errors)."""
        q = dict(query or {})
        q.setdefault('page_size', 1000)
        items, cloud_errors = [], []
        while True:
            page = self.get(path, query=q)
            items.extend(page.get(key) or [])
            cloud_errors.extend(page.get('cloud_errors') or [])
            tok = page.get('next_page_token')
            if not tok or (limit and len(items) >= limit):
                return items, cloud_errors
            q['page_token'] = tok

    # --- operations -------------------------------------------------------

    def wait_operation(self, op, timeout):
        """Waits until op is done (or timeout seconds pass); returns it.

        A failed operation raises CanopyError with its error."""
        deadline = time.time() + timeout
        while not op.get('done'):
            left = deadline - time.time()
            if left <= 0:
                raise CanopyError('timed out after %ds waiting for operation %s (%s, step %s)'
                                  % (timeout, op.get('id'), op.get('metadata', {}).get('kind'),
                                     op.get('metadata', {}).get('step')))
            step = max(1, min(int(left), 30))
            op = self.call('POST', '/v1/operations/%s:wait' % quote(op['id'], safe=''),
                           body={'timeout': '%ds' % step}, timeout=step + 30)
        if op.get('error'):
            e = op['error']
            raise CanopyError('operation %s (%s) failed: %s' % (
                op.get('id'), op.get('metadata', {}).get('kind'), e.get('message')),
                code=e.get('code'), details=[])
        return op


def flatten_query(query, prefix=''):
    """{'location': {'cloud': 'east'}} -> [('location.cloud', 'east')]; lists repeat."""
    out = []
    for k in sorted(query):
        v = query[k]
        name = prefix + k
        if isinstance(v, dict):
            if k == 'labels':
                for lk in sorted(v):
                    out.append(('labels[%s]' % lk, v[lk]))
            else:
                out.extend(flatten_query(v, name + '.'))
        elif isinstance(v, (list, tuple)):
            for item in v:
                out.append((name, item))
        elif isinstance(v, bool):
            out.append((name, 'true' if v else 'false'))
        else:
            out.append((name, v))
    return out


def error_from_http(e, method, path):
    raw = ''
    try:
        raw = to_text(e.read())
    except Exception:  # pylint: disable=broad-except
        pass
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if isinstance(body, dict) and 'message' in body:
        return CanopyError(body.get('message') or 'HTTP %d' % e.code, status=e.code,
                           code=body.get('code'), details=body.get('details'), body=body)
    return CanopyError('%s %s: HTTP %d %s' % (method, path, e.code, raw[:200]), status=e.code)


def location_query(params):
    loc = {}
    for k in ('cloud', 'region', 'zone'):
        if params.get(k):
            loc[k] = params[k]
    return loc


def matches_location(item, params):
    """The server side filters by cloud; region and zone are checked here."""
    loc = item.get('location') or {}
    for k in ('cloud', 'region', 'zone'):
        if params.get(k) and loc.get(k) and loc.get(k) != params[k]:
            return False
    return True


def status_enum(value):
    """'active', 'ACTIVE' or 'STATUS_ACTIVE' -> 'STATUS_ACTIVE'."""
    v = (value or '').strip().upper()
    if v and not v.startswith('STATUS_'):
        v = 'STATUS_' + v
    return v


def live(item):
    """Whether an item counts as existing: not deleted nor being deleted."""
    return item.get('status') not in ('STATUS_DELETED', 'STATUS_DELETING')


class CanopyModule(object):
    """An AnsibleModule with canopy's options and helpers."""

    def __init__(self, kind, argument_spec, location=True, field_options=None, **kwargs):
        self.field_options = field_options or {}
        spec = dict(COMMON_ARGS)
        if location:
            spec.update(LOCATION_ARGS)
        spec.update(argument_spec)
        self.kind = kind
        self.module = AnsibleModule(argument_spec=spec, **kwargs)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self.diff = self.module._diff
        try:
            self.client = CanopyClient(
                api_url=self.params['api_url'], credentials_file=self.params['credentials_file'],
                client_id=self.params['client_id'], client_secret=self.params['client_secret'],
                token=self.params['token'], validate_certs=self.params['validate_certs'],
                ca_cert=self.params['ca_cert'], timeout=self.params['timeout'])
        except CanopyError as e:
            self.module.fail_json(msg=e.describe())

    def fail(self, err, **kwargs):
        if isinstance(err, CanopyError):
            extra = dict(kwargs)
            if err.status is not None:
                extra['status'] = err.status
            if err.code is not None:
                extra['code'] = err.code
            fv = err.field_violations
            if fv:
                extra['field_violations'] = [dict(field=f, option=self.field_options.get(f, f), description=d)
                                             for f, d in fv]
            elif err.details:
                extra['details'] = err.details
            msg = err.describe(self.field_options)
            if err.code == 4:  # DEADLINE_EXCEEDED: canopy stopped waiting when the module's timeout ran out
                msg = 'timed out after %ds (option timeout) waiting for canopy: %s' % (self.params['timeout'], msg)
            if err.message != msg:
                extra['error'] = err.message
            self.module.fail_json(msg=msg, **extra)
        self.module.fail_json(msg=to_native(err), **kwargs)

    def run(self, fn):
        """Calls fn() and turns any CanopyError into a failed task."""
        try:
            fn()
        except CanopyError as e:
            self.fail(e)

    def find(self, collection, key, name, extra_query=None, loc_params=None):
        """The one live item named name in the location, or None.

        Several matches fail the task, naming them, unless the location
        narrows it down."""
        p = self.params if loc_params is None else loc_params
        q = {'name': name}
        loc = location_query(p)
        if loc:
            q['location'] = loc
        if extra_query:
            q.update(extra_query)
        items, dummy = self.client.list_all('/v1/%s' % collection, key, query=q)
        items = [i for i in items if i.get('name') == name and live(i) and matches_location(i, p)]
        if len(items) > 1:
            raise CanopyError('%d %s are named %r (%s); set cloud, region or zone to choose one' % (
                len(items), collection, name,
                ', '.join('%s in %s' % (i.get('id'), (i.get('location') or {}).get('cloud')) for i in items)))
        return items[0] if items else None

    def wait_for(self, collection, item, pending=('STATUS_PENDING',)):
        """Polls item until its status leaves pending (or timeout runs out)."""
        deadline = time.time() + self.params['timeout']
        while item.get('status') in pending:
            if time.time() >= deadline:
                raise CanopyError('timed out after %ds (option timeout) waiting for %s %s to leave %s'
                                  % (self.params['timeout'], collection[:-1], item.get('id'), item.get('status')))
            time.sleep(1)
            item = self.client.get('/v1/%s/%s' % (collection, path_id(item['id'])))
        return item

    def request_id(self, identity, generation=0):
        return derive_request_id('canopy.cloud.%s' % self.kind, identity, generation)

    def create_idempotent(self, create, still_exists, identity, max_generations=5):
        """Runs create(request_id) with the derived request_id.

        canopy answers a replayed request_id with the first attempt's result;
        when that resource has since been deleted (still_exists(result) is
        false), the next generation of the id is used. Returns
        (result, request_id)."""
        for gen in range(max_generations):
            rid = self.request_id(identity, gen)
            result = create(rid)
            if still_exists(result):
                return result, rid
        raise CanopyError('canopy kept answering request ids of %s with deleted resources' % self.kind)

    def exit(self, changed, resource=None, diff=None, **kwargs):
        out = dict(changed=changed)
        if resource is not None or self.kind:
            out[self.kind] = resource
        if diff is not None and self.diff:
            out['diff'] = diff
        out.update(kwargs)
        self.module.exit_json(**out)


def path_id(value):
    return quote(value, safe='')


def sha256_file(path, chunk=1 << 20):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def run_info(cm, collection, key, query=None, ident=None, name=None, keep=None, out_key=None):
    """The body of an _info module: one item by id/name, or a filtered list.

    Exits with the plural list under key and the clouds that failed to answer
    under cloud_errors."""
    errors = []
    if ident:
        item = cm.client.get_or_none('/v1/%s/%s' % (collection, path_id(ident)))
        items = [item] if item is not None else []
    else:
        q = dict(query or {})
        if name:
            q['name'] = name
        loc = location_query(cm.params)
        if loc:
            q['location'] = loc
        items, errors = cm.client.list_all('/v1/%s' % collection, key, query=q)
        items = [i for i in items if matches_location(i, cm.params)]
        if name:
            items = [i for i in items if i.get('name') == name]
    if keep is not None:
        items = [i for i in items if keep(i)]
    cm.module.exit_json(changed=False, cloud_errors=errors, **{out_key or key: items})


def run_volume_copy(cm, collection, noun):
    """The body of volume_snapshot and volume_backup (same shape in canopy):
    present/absent by name (and volume, and location), created from a volume
    as an operation, never updated in place."""
    p = cm.params
    vol = None
    extra = None
    if p['volume']:
        vol = cm.client.get_or_none('/v1/volumes/%s' % path_id(p['volume']))
        if vol is None and p['state'] == 'present':
            raise CanopyError('canopy rejected field volume: volume %s not found' % p['volume'])
        if vol is not None:
            extra = {'volume_id': vol['id']}
    item = cm.find(collection, collection, p['name'], extra_query=extra)

    if p['state'] == 'absent':
        if item is None:
            cm.exit(False, None)
        if cm.check_mode:
            cm.exit(True, None, diff=dict(before=item, after={}))
        op = cm.client.call('DELETE', '/v1/%s/%s' % (collection, path_id(item['id'])))
        if p['wait']:
            op = cm.client.wait_operation(op, p['timeout'])
        cm.exit(True, None, diff=dict(before=item, after={}), operation=op)

    labels = dict((k, str(v)) for k, v in (p['labels'] or {}).items())
    if item is not None:
        differs = []
        if p['description'] is not None and item.get('description', '') != p['description']:
            differs.append('description')
        if p['labels'] is not None and dict(item.get('labels') or {}) != labels:
            differs.append('labels')
        if differs:
            cm.module.warn('%s %s differs in %s, which canopy cannot change on an existing %s'
                           % (noun, p['name'], ', '.join(differs), noun))
        cm.exit(False, item)
    if vol is None:
        raise CanopyError('canopy rejected field volume: required to create %s %s' % (noun, p['name']))
    body = dict(name=p['name'], volume=vol['id'])
    if p['description']:
        body['description'] = p['description']
    if labels:
        body['labels'] = labels
    identity = dict(name=p['name'], volume=vol['id'], description=p['description'], labels=p['labels'])
    if cm.check_mode:
        cm.exit(True, None, diff=dict(before={}, after=dict(name=p['name'], volume_id=vol['id'])),
                request_id=cm.request_id(identity))

    def create(rid):
        return cm.client.call('POST', '/v1/%s' % collection, body=dict(body, request_id=rid))

    def still_exists(op):
        if not op.get('done') or op.get('error'):
            return True
        target = (op.get('metadata') or {}).get('target_id')
        return bool(target) and cm.client.get_or_none('/v1/%s/%s' % (collection, path_id(target))) is not None

    op, rid = cm.create_idempotent(create, still_exists, identity)
    if p['wait']:
        op = cm.client.wait_operation(op, p['timeout'])
    target = (op.get('metadata') or {}).get('target_id')
    item = cm.client.get_or_none('/v1/%s/%s' % (collection, path_id(target))) if target else None
    cm.exit(True, item, diff=dict(before={}, after=item or {}), operation=op, request_id=rid)
