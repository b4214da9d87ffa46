# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import io
import json
import os
import stat

import pytest

from ansible.module_utils.six.moves.urllib.error import HTTPError
from ansible_collections.canopy.cloud.plugins.module_utils import canopy as cu


class Resp(io.BytesIO):
    headers = {}


def http_error(code, body):
    return HTTPError('http://x', code, 'err', {}, io.BytesIO(json.dumps(body).encode()))


def test_field_violations_both_spellings():
    for key in ('field_violations', 'fieldViolations'):
        e = cu.CanopyError('m', status=400, code=3, details=[
            {'@type': 'type.googleapis.com/google.rpc.BadRequest', key: [{'field': 'name', 'description': 'required'}]}])
        assert e.describe() == 'canopy rejected field name: required'
    assert cu.CanopyError('plain').describe() == 'plain'


def test_not_found():
    assert cu.CanopyError('x', status=404).not_found
    assert cu.CanopyError('x', code=5).not_found
    assert not cu.CanopyError('x', status=400, code=3).not_found


def test_flatten_query():
    q = {'name': 'a', 'location': {'cloud': 'east', 'zone': ''}, 'labels': {'b': '2', 'a': '1'}, 'wait': True, 'ids': ['x', 'y']}
    assert cu.flatten_query(q) == [('ids', 'x'), ('ids', 'y'), ('labels[a]', '1'), ('labels[b]', '2'),
                                   ('location.cloud', 'east'), ('location.zone', ''), ('name', 'a'), ('wait', 'true')]


def test_url_drops_empty_values():
    c = cu.CanopyClient(api_url='http://h:1/', token='t')
    assert c.url('/v1/servers', {'name': 'a', 'location': {'cloud': None, 'zone': 'z'}}) == \
        'http://h:1/v1/servers?location.zone=z&name=a'


def test_normalize_int64():
    assert cu.normalize({'size_gib': '10', 'x': {'ram_mib': '2048'}, 'name': '5', 'l': [{'size_bytes': '1'}]}) == \
        {'size_gib': 10, 'x': {'ram_mib': 2048}, 'name': '5', 'l': [{'size_bytes': 1}]}


def test_request_id_is_deterministic_and_sensitive():
    a = cu.derive_request_id('k', {'name': 'a', 'cloud': 'east'})
    assert a == cu.derive_request_id('k', {'cloud': 'east', 'name': 'a'})
    assert a != cu.derive_request_id('k', {'name': 'a', 'cloud': 'west'})
    assert a != cu.derive_request_id('k', {'name': 'a', 'cloud': 'east'}, generation=1)
    assert a != cu.derive_request_id('other', {'name': 'a', 'cloud': 'east'})
    assert len(a) == 36


def test_credentials_file_and_api_url(tmp_path, monkeypatch):
    p = tmp_path / 'c.json'
    p.write_text(json.dumps({'client_id': 'id', 'client_secret': 's', 'token_url': 'http://10.0.0.1:9/oauth2/token'}))
    c = cu.CanopyClient(credentials_file=str(p))
    assert c.api_url == 'http://10.0.0.1:9' and c.client_id == 'id'
    monkeypatch.setenv('XDG_CONFIG_HOME', str(tmp_path / 'none'))
    monkeypatch.delenv('CANOPY_CREDENTIALS', raising=False)
    with pytest.raises(cu.CanopyError, match='credentials file'):
        cu.CanopyClient()
    with pytest.raises(cu.CanopyError, match='without client_secret'):
        cu.CanopyClient(client_id='x')


def test_token_fetched_once_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path))
    calls = []

    def fake_open_url(url, **kw):
        calls.append((url, kw))
        if url.endswith('/oauth2/token'):
            assert kw['url_username'] == 'id' and kw['force_basic_auth']
            return Resp(json.dumps({'access_token': 'tok-%d' % len(calls), 'expires_in': 600}).encode())
        assert kw['headers']['Authorization'] == 'Bearer tok-1'
        return Resp(b'{"servers": []}')
    monkeypatch.setattr(cu, 'open_url', fake_open_url)
    c = cu.CanopyClient(api_url='http://h', client_id='id', client_secret='s')
    assert c.get('/v1/servers') == {'servers': []}
    # A second client (the next task of the run) uses the cached token.
    c2 = cu.CanopyClient(api_url='http://h', client_id='id', client_secret='s')
    c2.get('/v1/servers')
    assert [u for u, kw in calls].count('http://h/oauth2/token') == 1
    # A wrong secret does not find the cached token.
    cu.CanopyClient(api_url='http://h', client_id='id', client_secret='wrong').token()
    assert [u for u, kw in calls].count('http://h/oauth2/token') == 2
    files = os.listdir(os.path.join(str(tmp_path), 'canopy', 'ansible'))
    assert len(files) == 2
    mode = os.stat(os.path.join(str(tmp_path), 'canopy', 'ansible', files[0])).st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_refused_cached_token_is_replaced_once(tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path))
    tokens = iter(['stale', 'fresh'])
    seen = []

    def fake_open_url(url, **kw):
        if url.endswith('/oauth2/token'):
            return Resp(json.dumps({'access_token': next(tokens), 'expires_in': 600}).encode())
        seen.append(kw['headers']['Authorization'])
        if kw['headers']['Authorization'] == 'Bearer stale':
            raise http_error(401, {'code': 16, 'message': 'token expired'})
        return Resp(b'{}')
    monkeypatch.setattr(cu, 'open_url', fake_open_url)
    c = cu.CanopyClient(api_url='http://h', client_id='id', client_secret='s')
    c.get('/v1/clouds')
    assert seen == ['Bearer stale', 'Bearer fresh']


def test_static_token_not_retried(monkeypatch):
    def fake_open_url(url, **kw):
        raise http_error(401, {'code': 16, 'message': 'bad token'})
    monkeypatch.setattr(cu, 'open_url', fake_open_url)
    c = cu.CanopyClient(api_url='http://h', token='t')
    with pytest.raises(cu.CanopyError) as e:
        c.get('/v1/clouds')
    assert e.value.status == 401 and e.value.message == 'bad token'


def test_error_body_parsed(monkeypatch):
    def fake_open_url(url, **kw):
        raise http_error(400, {'code': 3, 'message': 'name: required', 'details': [
            {'@type': 'type.googleapis.com/google.rpc.BadRequest', 'field_violations': [{'field': 'name', 'description': 'required'}]}]})
    monkeypatch.setattr(cu, 'open_url', fake_open_url)
    c = cu.CanopyClient(api_url='http://h', token='t')
    with pytest.raises(cu.CanopyError) as e:
        c.call('POST', '/v1/servers', body={})
    assert e.value.field_violations == [('name', 'required')]


def test_list_all_pages_and_collects_cloud_errors(monkeypatch):
    pages = {None: {'servers': [{'id': 1}], 'next_page_token': 'p2', 'cloud_errors': [{'cloud': 'x'}]},
             'p2': {'servers': [{'id': 2}]}}

    def fake_open_url(url, **kw):
        tok = url.split('page_token=')[1].split('&')[0] if 'page_token=' in url else None
        return Resp(json.dumps(pages[tok]).encode())
    monkeypatch.setattr(cu, 'open_url', fake_open_url)
    items, errs = cu.CanopyClient(api_url='http://h', token='t').list_all('/v1/servers', 'servers')
    assert [i['id'] for i in items] == [1, 2] and errs == [{'cloud': 'x'}]


def test_wait_operation_times_out(monkeypatch):
    monkeypatch.setattr(cu, 'open_url', lambda url, **kw: Resp(b'{"id": "op", "done": false}'))
    t = [0.0]
    monkeypatch.setattr(cu.time, 'time', lambda: t.__setitem__(0, t[0] + 5) or t[0])
    with pytest.raises(cu.CanopyError, match='timed out'):
        cu.CanopyClient(api_url='http://h', token='t').wait_operation({'id': 'op', 'done': False}, 12)


def test_status_enum():
    assert cu.status_enum('active') == 'STATUS_ACTIVE'
    assert cu.status_enum('STATUS_STOPPED') == 'STATUS_STOPPED'
    assert cu.status_enum(None) == ''


def test_deadline_sent_as_grpc_timeout(monkeypatch):
    seen = []
    monkeypatch.setattr(cu, 'open_url', lambda url, **kw: seen.append(kw) or Resp(b'{}'))
    cu.CanopyClient(api_url='http://h', token='t', timeout=42).get('/v1/clouds')
    assert seen[0]['headers']['Grpc-Timeout'] == '42S' and seen[0]['timeout'] == 57
