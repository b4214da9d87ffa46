# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Runs a module's main() in-process against a fake canopy REST API.

FakeCanopy records every request and answers from handlers keyed by
(method, path); CanopyClient.raw is patched to call it, so the modules'
own code (look-ups, check mode, request ids, error mapping) is what runs."""

from __future__ import annotations

import io
import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes
from ansible_collections.canopy.cloud.plugins.module_utils import canopy as cu


class ExitJson(Exception):
    pass


class FailJson(Exception):
    pass


class Response(io.BytesIO):
    def __init__(self, body, headers=None):
        super(Response, self).__init__(to_bytes(json.dumps(body)) if not isinstance(body, bytes) else body)
        self.headers = headers or {}


class FakeCanopy(object):
    def __init__(self):
        self.requests = []
        self.handlers = {}

    def on(self, method, path, fn):
        self.handlers[(method, path)] = fn

    def raw(self, client, method, path, query=None, data=None, headers=None, timeout=None):
        body = None
        if isinstance(data, (str, bytes)) and data:
            try:
                body = json.loads(data)
            except ValueError:
                body = data
        self.requests.append(dict(method=method, path=path, query=query or {}, body=body, headers=headers or {}))
        fn = self.handlers.get((method, path))
        if fn is None:
            raise cu.CanopyError('%s %s not found' % (method, path), status=404, code=5)
        out = fn(query or {}, body)
        if isinstance(out, cu.CanopyError):
            raise out
        return Response(out)

    def writes(self):
        return [r for r in self.requests if r['method'] != 'GET' and not r['path'].endswith(':wait')]


@pytest.fixture
def canopy(monkeypatch, tmp_path):
    fake = FakeCanopy()

    def raw(self, *args, **kwargs):
        return fake.raw(self, *args, **kwargs)
    monkeypatch.setattr(cu.CanopyClient, 'raw', raw)

    def exit_json(self, **kwargs):
        kwargs.setdefault('changed', False)
        raise ExitJson(kwargs)

    def fail_json(self, msg, **kwargs):
        kwargs['msg'] = msg
        kwargs['failed'] = True
        raise FailJson(kwargs)
    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))
    return fake


def run_module(main, args, check_mode=False, diff=False):
    """Runs main() with args; returns (result, failed)."""
    a = dict(args)
    a.setdefault('token', 'test-token')
    a['_ansible_check_mode'] = check_mode
    a['_ansible_diff'] = diff
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': a}))
    try:
        main()
    except ExitJson as e:
        return e.args[0], False
    except FailJson as e:
        return e.args[0], True
    finally:
        basic._ANSIBLE_ARGS = None
    raise AssertionError('module neither exited nor failed')
