# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.canopy.cloud.plugins.module_utils import canopy as cu
from ansible_collections.canopy.cloud.plugins.module_utils.container import (
    duration_json, normalize_container, parse_duration, same_image)
from ansible_collections.canopy.cloud.plugins.modules import container, container_info

from .conftest import run_module

CTR = {'id': 'c-1', 'name': 'web', 'state': 'STATE_RUNNING', 'status': 'STATUS_ACTIVE', 'ready': True,
       'image': 'canopy-test/busybox:latest', 'command': ['httpd', '-f'], 'memory_mib': '64',
       'env': {'A': '1', 'PATH': '/bin'}, 'labels': {'tier': 'web'},
       'healthcheck': {'cmd': ['true'], 'interval': '0.500s', 'timeout': '30s', 'retries': 3, 'start_period': '0s'},
       'location': {'cloud': 'east', 'zone': 'sim-host'}}
ARGS = dict(name='web', cloud='east', image='canopy-test/busybox', command=['httpd', '-f'], memory_mib=64,
            env={'A': 1}, labels={'tier': 'web'}, healthcheck={'cmd': ['true'], 'interval': '500ms'})


def listing(*items):
    return lambda q, b: {'containers': [dict(i) for i in items]}


def test_durations_and_images():
    assert parse_duration('1m30s', 'x') == 90.0
    assert parse_duration('500ms', 'x') == 0.5
    assert parse_duration('0.200s', 'x') == 0.2
    assert parse_duration('15', 'x') == 15.0
    with pytest.raises(ValueError):
        parse_duration('5 minutes', 'healthcheck.interval')
    assert duration_json(1.5) == '1.5s' and duration_json(30.0) == '30s'
    assert same_image('busybox', 'docker.io/library/busybox:latest')
    assert not same_image('busybox:1', 'busybox:latest')
    assert normalize_container({'memory_mib': '64'})['memory_mib'] == 64
    assert normalize_container({})['ready'] is False


def test_create_started_sends_the_request_and_waits(canopy):
    canopy.on('GET', '/v1/containers', listing())
    canopy.on('POST', '/v1/containers', lambda q, b: {'id': 'op1', 'done': False,
                                                      'metadata': {'kind': 'container.create', 'target_id': 'c-1'}})
    canopy.on('POST', '/v1/operations/op1:wait', lambda q, b: {'id': 'op1', 'done': True, 'metadata': {'target_id': 'c-1'}})
    canopy.on('GET', '/v1/containers/c-1', lambda q, b: dict(CTR))
    res, failed = run_module(container.main, dict(ARGS, restart_policy={'mode': 'on-failure', 'max_retries': 2},
                                                  ports=[{'container_port': 8080}],
                                                  depends_on=[{'container': 'db', 'condition': 'healthy'}]))
    assert not failed and res['changed'], res
    assert res['actions'] == ['create']
    assert res['container']['memory_mib'] == 64
    post = canopy.writes()[0]['body']
    assert post['run'] is True and post['location'] == {'cloud': 'east'}
    assert post['memory_mib'] == '64' and post['env'] == {'A': '1'}
    assert post['healthcheck'] == {'cmd': ['true'], 'interval': '0.5s'}
    assert post['restart_policy'] == {'mode': 'MODE_ON_FAILURE', 'max_retries': 2}
    assert post['ports'] == [{'container_port': 8080, 'protocol': 'tcp'}]
    assert post['depends_on'] == [{'container': 'db', 'condition': 'CONDITION_HEALTHY'}]
    assert post['request_id'] == res['request_id']
    # The same task again (after a lost answer) sends the same id.
    canopy.requests[:] = []
    again, dummy = run_module(container.main, dict(ARGS, restart_policy={'mode': 'on-failure', 'max_retries': 2},
                                                   ports=[{'container_port': 8080}],
                                                   depends_on=[{'container': 'db', 'condition': 'healthy'}]))
    assert canopy.writes()[0]['body']['request_id'] == res['request_id']


def test_present_and_stopped_create_without_run(canopy):
    canopy.on('GET', '/v1/containers', listing())
    canopy.on('POST', '/v1/containers', lambda q, b: {'id': 'op1', 'done': True, 'metadata': {'target_id': 'c-1'}})
    canopy.on('GET', '/v1/containers/c-1', lambda q, b: dict(CTR, state='STATE_CREATED'))
    for state in ('present', 'stopped'):
        canopy.requests[:] = []
        res, failed = run_module(container.main, dict(ARGS, state=state))
        assert not failed and res['changed']
        assert canopy.writes()[0]['body']['run'] is False


def test_check_mode_writes_nothing(canopy):
    canopy.on('GET', '/v1/containers', listing())
    res, failed = run_module(container.main, ARGS, check_mode=True)
    assert not failed and res['changed'] and res['actions'] == ['create']
    assert canopy.writes() == []
    assert res['request_id']
    canopy.on('GET', '/v1/containers', listing(CTR))
    for args, actions in ((dict(name='web', cloud='east', state='stopped'), ['stop']),
                          (dict(name='web', cloud='east', memory_mib=128), ['update']),
                          (dict(name='web', cloud='east', state='absent'), ['stop', 'delete']),
                          (dict(name='web', cloud='east', state='absent', force=True), ['delete']),
                          (dict(ARGS, command=['sleep', '1'], recreate=True), ['delete', 'create'])):
        res, failed = run_module(container.main, args, check_mode=True)
        assert not failed and res['changed'] and res['actions'] == actions, (args, res)
    assert canopy.writes() == []


def test_existing_and_equal_is_not_changed(canopy):
    canopy.on('GET', '/v1/containers', listing(CTR))
    res, failed = run_module(container.main, ARGS)
    assert not failed and not res['changed'], res
    assert res['actions'] == [] and canopy.writes() == []
    assert res['container']['memory_mib'] == 64


def test_differing_immutable_options_fail_naming_them(canopy):
    canopy.on('GET', '/v1/containers', listing(CTR))
    res, failed = run_module(container.main, dict(ARGS, image='other:1', env={'A': 2}))
    assert failed
    assert 'different env, image' in res['msg'] and 'recreate: true' in res['msg']
    assert res['differences']['image'] == {'has': 'canopy-test/busybox:latest', 'wants': 'other:1'}
    assert res['differences']['env'] == {'has': {'A': '1'}, 'wants': {'A': '2'}}
    assert canopy.writes() == []
    # A healthcheck that differs only by canopy's defaults is the same.
    res, failed = run_module(container.main, dict(ARGS, healthcheck={'cmd': ['true'], 'interval': '0.5s',
                                                                     'timeout': '30s', 'retries': 3}))
    assert not failed and not res['changed']


def test_recreate_deletes_with_force_then_creates(canopy):
    canopy.on('GET', '/v1/containers', listing(CTR))
    canopy.on('DELETE', '/v1/containers/c-1', lambda q, b: dict(CTR, state='STATE_DELETING'))
    canopy.on('POST', '/v1/containers/c-1:wait', lambda q, b: cu.CanopyError('gone', status=404, code=5))
    canopy.on('POST', '/v1/containers', lambda q, b: {'id': 'op2', 'done': True, 'metadata': {'target_id': 'c-2'}})
    canopy.on('GET', '/v1/containers/c-2', lambda q, b: dict(CTR, id='c-2', command=['sleep', '1']))
    res, failed = run_module(container.main, dict(ARGS, command=['sleep', '1'], recreate=True))
    assert not failed and res['changed'] and res['actions'] == ['delete', 'create'], res
    assert res['container']['id'] == 'c-2'
    delete = [r for r in canopy.requests if r['method'] == 'DELETE'][0]
    assert delete['query'] == {'force': True}
    assert 'command' in res['differences']


def test_update_in_place_then_stop(canopy):
    canopy.on('GET', '/v1/containers', listing(CTR))
    canopy.on('PATCH', '/v1/containers/c-1', lambda q, b: dict(CTR, memory_mib='128',
                                                               restart_policy={'mode': 'MODE_ALWAYS'}))
    canopy.on('POST', '/v1/containers/c-1:stop', lambda q, b: dict(CTR, state='STATE_STOPPED', memory_mib='128'))
    res, failed = run_module(container.main, dict(name='web', cloud='east', state='stopped', memory_mib=128,
                                                  restart_policy={'mode': 'always'}, stop_timeout=2))
    assert not failed and res['changed'] and res['actions'] == ['update', 'stop'], res
    writes = canopy.writes()
    assert writes[0]['body'] == {'memory_mib': '128', 'restart_policy': {'mode': 'MODE_ALWAYS'}}
    assert writes[1]['body'] == {'timeout': '2s'}
    assert res['container']['state'] == 'STATE_STOPPED' and res['container']['memory_mib'] == 128


def test_started_starts_a_stopped_one_and_waits_until_ready(canopy):
    canopy.on('GET', '/v1/containers', listing(dict(CTR, state='STATE_STOPPED', ready=False)))
    canopy.on('POST', '/v1/containers/c-1:start', lambda q, b: dict(CTR, ready=False, health='HEALTH_STARTING'))
    canopy.on('POST', '/v1/containers/c-1:wait', lambda q, b: dict(CTR))
    res, failed = run_module(container.main, dict(name='web', cloud='east'))
    assert not failed and res['changed'] and res['actions'] == ['start']
    wait = [r for r in canopy.requests if r['path'].endswith(':wait')][0]
    assert wait['body'] == {'condition': 'CONDITION_READY'}
    assert res['container']['ready']


def test_paused_and_restarted(canopy):
    canopy.on('GET', '/v1/containers', listing(dict(CTR, state='STATE_PAUSED')))
    canopy.on('POST', '/v1/containers/c-1:unpause', lambda q, b: dict(CTR))
    canopy.on('POST', '/v1/containers/c-1:restart', lambda q, b: dict(CTR))
    res, failed = run_module(container.main, dict(name='web', cloud='east', state='paused'))
    assert not failed and not res['changed']
    res, failed = run_module(container.main, dict(name='web', cloud='east', state='restarted'))
    assert not failed and res['actions'] == ['unpause', 'restart']


def test_absent_stops_first_unless_force(canopy):
    canopy.on('GET', '/v1/containers', listing(CTR))
    canopy.on('POST', '/v1/containers/c-1:stop', lambda q, b: dict(CTR, state='STATE_STOPPED'))
    canopy.on('DELETE', '/v1/containers/c-1', lambda q, b: dict(CTR, state='STATE_DELETING'))
    canopy.on('POST', '/v1/containers/c-1:wait', lambda q, b: cu.CanopyError('gone', status=404, code=5))
    res, failed = run_module(container.main, dict(name='web', cloud='east', state='absent'))
    assert not failed and res['changed'] and res['actions'] == ['stop', 'delete'] and res['container'] is None
    canopy.requests[:] = []
    res, failed = run_module(container.main, dict(name='web', cloud='east', state='absent', force=True))
    assert res['actions'] == ['delete']
    assert [r['query'] for r in canopy.requests if r['method'] == 'DELETE'] == [{'force': True}]
    canopy.on('GET', '/v1/containers', listing())
    res, failed = run_module(container.main, dict(name='web', cloud='east', state='absent'))
    assert not failed and not res['changed']


def test_failed_create_names_the_image(canopy):
    canopy.on('GET', '/v1/containers', listing())
    canopy.on('POST', '/v1/containers', lambda q, b: {'id': 'op1', 'done': False, 'metadata': {'target_id': 'c-9'}})
    canopy.on('POST', '/v1/operations/op1:wait', lambda q, b: {
        'id': 'op1', 'done': True, 'metadata': {'kind': 'container.create', 'target_id': 'c-9'},
        'error': {'code': 3, 'message': 'image "nope:1" not found on sim-host'}})
    res, failed = run_module(container.main, dict(name='web', cloud='east', image='nope:1', command=['true']))
    assert failed and 'nope:1' in res['msg'] and res['msg'].startswith('creating container web (image nope:1)')


def test_bad_duration_and_missing_image_fail_without_a_call(canopy):
    canopy.on('GET', '/v1/containers', listing())
    res, failed = run_module(container.main, dict(ARGS, healthcheck={'cmd': ['true'], 'interval': 'soon'}))
    assert failed and 'healthcheck.interval' in res['msg']
    res, failed = run_module(container.main, dict(name='web', cloud='east'))
    assert failed and res['msg'].startswith('canopy rejected field image')
    assert canopy.writes() == []


def test_info_filters_and_normalizes(canopy):
    seen = []
    canopy.on('GET', '/v1/containers', lambda q, b: seen.append(q) or {'containers': [dict(CTR)], 'cloud_errors': []})
    res, failed = run_module(container_info.main, dict(cloud='east', state='running', labels={'tier': 'web'}))
    assert not failed and not res['changed']
    assert res['containers'][0]['memory_mib'] == 64
    assert seen[0]['state'] == 'STATE_RUNNING' and seen[0]['labels'] == {'tier': 'web'}
    assert seen[0]['location'] == {'cloud': 'east'}
    canopy.on('GET', '/v1/containers/web', lambda q, b: dict(CTR))
    res, failed = run_module(container_info.main, dict(id='web'))
    assert [c['id'] for c in res['containers']] == ['c-1']
