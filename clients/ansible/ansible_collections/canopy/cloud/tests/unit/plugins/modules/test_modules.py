# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible.module_utils.common.warnings import get_warning_messages
from ansible_collections.canopy.cloud.plugins.module_utils import canopy as cu
from ansible_collections.canopy.cloud.plugins.modules import server, volume, keypair, object as obj_mod, server_action

from .conftest import run_module

SERVER = {'id': 'srv-1', 'name': 'web1', 'status': 'STATUS_ACTIVE', 'flavor_id': 'fl-1', 'image_id': 'im-1',
          'location': {'cloud': 'east', 'zone': 'east-1a'}, 'labels': {'role': 'web'}}
ARGS = dict(name='web1', cloud='east', flavor='m1.small', image='debian-12', labels={'role': 'web'})


def test_server_check_mode_writes_nothing(canopy):
    canopy.on('GET', '/v1/servers', lambda q, b: {'servers': []})
    res, failed = run_module(server.main, ARGS, check_mode=True)
    assert not failed and res['changed']
    assert canopy.writes() == []
    assert res['request_id'] == cu.derive_request_id('canopy.cloud.server', dict(
        ARGS, region=None, zone=None, boot_volume=None, keypair=None, networks=None, user_data=None))


def test_server_create_sends_derived_request_id_and_location(canopy):
    canopy.on('GET', '/v1/servers', lambda q, b: {'servers': []})
    canopy.on('POST', '/v1/servers', lambda q, b: dict(SERVER))
    canopy.on('GET', '/v1/servers/srv-1', lambda q, b: dict(SERVER))
    first, failed = run_module(server.main, ARGS)
    assert not failed and first['changed'] and first['server']['id'] == 'srv-1'
    post = canopy.writes()[0]
    assert post['body']['location'] == {'cloud': 'east'}
    assert post['body']['labels'] == {'role': 'web'}
    assert post['body']['request_id'] == first['request_id']
    # The same task again (after a lost answer, say) sends the same id.
    canopy.requests[:] = []
    second, failed = run_module(server.main, ARGS)
    assert canopy.writes()[0]['body']['request_id'] == first['request_id']


def test_server_lookup_filters_by_name_and_location(canopy):
    seen = []
    canopy.on('GET', '/v1/servers', lambda q, b: seen.append(q) or {'servers': [SERVER]})
    canopy.on('GET', '/v1/flavors', lambda q, b: {'flavors': [{'id': 'fl-1', 'name': 'm1.small'}]})
    canopy.on('GET', '/v1/images', lambda q, b: {'images': [{'id': 'im-1', 'name': 'debian-12'}]})
    res, failed = run_module(server.main, ARGS)
    assert not failed and not res['changed']
    assert not any('differs' in w for w in get_warning_messages())
    assert seen[0]['name'] == 'web1' and seen[0]['location'] == {'cloud': 'east'}
    assert canopy.writes() == []
    # A flavor that resolves to another id is reported, not changed.
    canopy.on('GET', '/v1/flavors', lambda q, b: {'flavors': [{'id': 'fl-2', 'name': 'm1.large'}]})
    res, failed = run_module(server.main, dict(ARGS, flavor='m1.large'))
    assert not res['changed'] and canopy.writes() == []
    assert any('differs in flavor' in w for w in get_warning_messages())


def test_server_replayed_id_of_a_deleted_server_moves_to_the_next_generation(canopy):
    canopy.on('GET', '/v1/servers', lambda q, b: {'servers': []})
    answers = [dict(SERVER, id='old', status='STATUS_DELETED'), dict(SERVER, id='new')]
    canopy.on('POST', '/v1/servers', lambda q, b: answers.pop(0))
    canopy.on('GET', '/v1/servers/new', lambda q, b: dict(SERVER, id='new'))
    res, failed = run_module(server.main, ARGS)
    assert not failed and res['server']['id'] == 'new'
    ids = [r['body']['request_id'] for r in canopy.writes()]
    assert len(set(ids)) == 2 and res['request_id'] == ids[1]


def test_server_absent_check_mode_and_missing(canopy):
    canopy.on('GET', '/v1/servers', lambda q, b: {'servers': [SERVER]})
    res, failed = run_module(server.main, dict(name='web1', cloud='east', state='absent'), check_mode=True, diff=True)
    assert res['changed'] and canopy.writes() == []
    assert res['diff']['before']['id'] == 'srv-1'
    canopy.on('GET', '/v1/servers', lambda q, b: {'servers': [dict(SERVER, status='STATUS_DELETING')]})
    res, failed = run_module(server.main, dict(name='web1', cloud='east', state='absent'))
    assert not res['changed'] and canopy.writes() == []


def test_ambiguous_name_fails(canopy):
    canopy.on('GET', '/v1/servers', lambda q, b: {'servers': [SERVER, dict(SERVER, id='srv-2', location={'cloud': 'west'})]})
    res, failed = run_module(server.main, dict(ARGS, cloud=None))
    assert failed and 'set cloud, region or zone' in res['msg']


def test_bad_request_names_the_field_and_option(canopy):
    canopy.on('GET', '/v1/volumes', lambda q, b: {'volumes': []})
    canopy.on('POST', '/v1/volumes', lambda q, b: cu.CanopyError(
        'size_gib: too big', status=400, code=3, details=[{
            '@type': 'type.googleapis.com/google.rpc.BadRequest',
            'field_violations': [{'field': 'size_gib', 'description': 'too big'}]}]))
    res, failed = run_module(volume.main, dict(name='v', cloud='east', size=99999))
    assert failed
    assert res['msg'] == 'canopy rejected field size_gib (option size): too big'
    assert res['field_violations'] == [{'field': 'size_gib', 'option': 'size', 'description': 'too big'}]


def test_volume_extend_waits_for_its_operation(canopy):
    vol = {'id': 'v1', 'name': 'data', 'size_gib': 1, 'status': 'STATUS_ACTIVE', 'location': {'cloud': 'west'}}
    canopy.on('GET', '/v1/volumes', lambda q, b: {'volumes': [vol]})
    canopy.on('POST', '/v1/volumes/v1:extend', lambda q, b: {'id': 'op1', 'done': False, 'metadata': {'kind': 'volume.extend'}})
    canopy.on('POST', '/v1/operations/op1:wait', lambda q, b: {'id': 'op1', 'done': True})
    canopy.on('GET', '/v1/volumes/v1', lambda q, b: dict(vol, size_gib=2))
    res, failed = run_module(volume.main, dict(name='data', cloud='west', size=2))
    assert not failed and res['changed'] and res['volume']['size_gib'] == 2
    assert [r['path'] for r in canopy.requests if r['method'] == 'POST'] == ['/v1/volumes/v1:extend', '/v1/operations/op1:wait']
    assert canopy.writes()[0]['body'] == {'size_gib': 2}


def test_volume_shrink_refused_without_a_call(canopy):
    vol = {'id': 'v1', 'name': 'data', 'size_gib': 5, 'status': 'STATUS_ACTIVE', 'location': {'cloud': 'west'}}
    canopy.on('GET', '/v1/volumes', lambda q, b: {'volumes': [vol]})
    res, failed = run_module(volume.main, dict(name='data', cloud='west', size=2))
    assert failed and res['msg'].startswith('canopy rejected field size')
    assert canopy.writes() == []


def test_volume_failed_operation_fails_the_task(canopy):
    canopy.on('GET', '/v1/volumes', lambda q, b: {'volumes': []})
    canopy.on('POST', '/v1/volumes', lambda q, b: {'id': 'op1', 'done': True, 'metadata': {'target_id': 'v9'},
                                                   'error': {'code': 9, 'message': 'quota exceeded'}})
    res, failed = run_module(volume.main, dict(name='data', cloud='west', size=2))
    assert failed and 'quota exceeded' in res['msg']


def test_keypair_different_key_refused(canopy):
    kp = {'id': 'k1', 'name': 'deploy', 'public_key': 'ssh-ed25519 AAAA1 a@b', 'fingerprint': 'f', 'location': {'cloud': 'east'}}
    canopy.on('GET', '/v1/keypairs', lambda q, b: {'keypairs': [kp]})
    res, failed = run_module(keypair.main, dict(name='deploy', cloud='east', public_key='ssh-ed25519 AAAA2'))
    assert failed and 'different public key' in res['msg']
    res, failed = run_module(keypair.main, dict(name='deploy', cloud='east', public_key='ssh-ed25519 AAAA1 other-comment'))
    assert not failed and not res['changed']


def test_object_idempotent_by_sha256(canopy, tmp_path):
    import hashlib
    data = b'hello\n'
    sha = hashlib.sha256(data).hexdigest()
    meta = {'bucket': 'b1', 'key': 'k', 'sha256': sha, 'content_type': 'application/octet-stream', 'size_bytes': 6}
    canopy.on('GET', '/v1/buckets/b1/objects/k', lambda q, b: meta)
    res, failed = run_module(obj_mod.main, dict(bucket='b1', name='k', content='hello\n'))
    assert not failed and not res['changed'] and res['sha256'] == sha
    assert canopy.writes() == []
    res, failed = run_module(obj_mod.main, dict(bucket='b1', name='k', content='changed\n'), check_mode=True)
    assert res['changed'] and canopy.writes() == []
    canopy.on('PUT', '/v1/buckets/b1/objects/k', lambda q, b: dict(meta, sha256=hashlib.sha256(b'changed\n').hexdigest()))
    res, failed = run_module(obj_mod.main, dict(bucket='b1', name='k', content='changed\n'))
    put = canopy.writes()[0]
    assert res['changed'] and put['headers']['X-Canopy-Sha256'] == hashlib.sha256(b'changed\n').hexdigest()


def test_object_upload_refuses_a_different_stored_sha(canopy):
    canopy.on('GET', '/v1/buckets/b1/objects/k', lambda q, b: cu.CanopyError('nf', status=404, code=5))
    canopy.on('PUT', '/v1/buckets/b1/objects/k', lambda q, b: {'key': 'k', 'sha256': '0' * 64})
    res, failed = run_module(obj_mod.main, dict(bucket='b1', name='k', content='x'))
    assert failed and 'not the uploaded' in res['msg']


def test_server_action_idempotent(canopy):
    canopy.on('GET', '/v1/servers', lambda q, b: {'servers': [dict(SERVER, status='STATUS_STOPPED')]})
    res, failed = run_module(server_action.main, dict(server='web1', cloud='east', action='stop'))
    assert not res['changed'] and canopy.writes() == []
    canopy.on('POST', '/v1/servers/srv-1:start', lambda q, b: dict(SERVER))
    res, failed = run_module(server_action.main, dict(server='web1', cloud='east', action='start'))
    assert res['changed'] and res['server']['status'] == 'STATUS_ACTIVE'
    assert canopy.writes()[0]['body'] == {'wait': True}
