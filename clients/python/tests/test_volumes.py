"""VolumeService and OperationService: operations waited for, snapshots,
backups, attach/detach, watch."""

import pytest

import canopy_client
from canopy.v1 import common_pb2, compute_pb2, operation_pb2, volume_pb2

LOCAL = common_pb2.Location(cloud="local")


def test_volume_lifecycle(client, name):
    watch = client.volumes.WatchVolumes(volume_pb2.WatchVolumesRequest(name=name))
    op = client.volumes.CreateVolume(volume_pb2.CreateVolumeRequest(name=name, location=LOCAL, size_gib=1))
    vol = client.wait_result(op, volume_pb2.Volume, timeout=60)
    assert vol.size_gib == 1 and vol.status == common_pb2.STATUS_ACTIVE
    assert any(ev.volume.id == vol.id for ev in watch)  # the ADDED (or a later) event
    watch.cancel()
    assert client.volumes.GetVolume(volume_pb2.GetVolumeRequest(id=vol.id)).name == name
    assert vol.id in {v.id for v in client.paginate(client.volumes.ListVolumes, volume_pb2.ListVolumesRequest(name=name))}
    vol = client.wait_result(client.volumes.ExtendVolume(volume_pb2.ExtendVolumeRequest(id=vol.id, size_gib=2)), volume_pb2.Volume)
    assert vol.size_gib == 2

    sv = client.compute.CreateServer(compute_pb2.CreateServerRequest(
        name=name, location=LOCAL, flavor="m1.tiny", image="cirros-0.6.2", wait=True))
    client.wait(client.volumes.AttachVolume(volume_pb2.AttachVolumeRequest(id=vol.id, server=sv.id)))
    assert client.volumes.GetVolume(volume_pb2.GetVolumeRequest(id=vol.id)).attachments
    client.wait(client.volumes.DetachVolume(volume_pb2.DetachVolumeRequest(id=vol.id, server=sv.id)))
    client.compute.DeleteServer(compute_pb2.DeleteServerRequest(id=sv.id, wait=True))

    snap = client.wait_result(client.volumes.CreateSnapshot(volume_pb2.CreateSnapshotRequest(name=name, volume=vol.id)),
                              volume_pb2.Snapshot)
    assert client.volumes.GetSnapshot(volume_pb2.GetSnapshotRequest(id=snap.id)).volume_id == vol.id
    assert [s.id for s in client.paginate(client.volumes.ListSnapshots, volume_pb2.ListSnapshotsRequest(volume_id=vol.id))] == [snap.id]
    client.wait(client.volumes.DeleteSnapshot(volume_pb2.DeleteSnapshotRequest(id=snap.id)))

    backup = client.wait_result(client.volumes.CreateBackup(volume_pb2.CreateBackupRequest(name=name, volume=vol.id)),
                                volume_pb2.Backup)
    assert client.volumes.GetBackup(volume_pb2.GetBackupRequest(id=backup.id)).name == name
    assert backup.id in {b.id for b in client.paginate(client.volumes.ListBackups, volume_pb2.ListBackupsRequest(volume_id=vol.id))}
    restored = client.wait_result(client.volumes.RestoreBackup(volume_pb2.RestoreBackupRequest(id=backup.id, name=name + "-r")),
                                  volume_pb2.Volume)
    assert restored.backup_id == backup.id
    client.wait(client.volumes.DeleteBackup(volume_pb2.DeleteBackupRequest(id=backup.id)))
    for v in (restored, vol):
        client.wait(client.volumes.DeleteVolume(volume_pb2.DeleteVolumeRequest(id=v.id)))


def test_operations(client, name):
    op = client.volumes.CreateVolume(volume_pb2.CreateVolumeRequest(name=name, location=LOCAL, size_gib=1))
    got = client.operations.GetOperation(operation_pb2.GetOperationRequest(id=op.id))
    assert got.metadata.kind == "volume.create"
    done = client.wait(op.id)
    assert done.done
    ops = list(client.paginate(client.operations.ListOperations, operation_pb2.ListOperationsRequest(target_id=done.metadata.target_id)))
    assert op.id in {o.id for o in ops}
    # Cancelling a done operation is too late: it stays as it ended.
    assert client.operations.CancelOperation(operation_pb2.CancelOperationRequest(id=op.id)).done
    client.operations.DeleteOperation(operation_pb2.DeleteOperationRequest(id=op.id))
    with pytest.raises(canopy_client.NotFound):
        client.operations.GetOperation(operation_pb2.GetOperationRequest(id=op.id))
    client.wait(client.volumes.DeleteVolume(volume_pb2.DeleteVolumeRequest(id=done.metadata.target_id)))


def test_failed_operation_raises(client):
    with pytest.raises(canopy_client.InvalidArgument) as e:
        client.volumes.CreateVolume(volume_pb2.CreateVolumeRequest(name="x", size_gib=-1))
    assert "size_gib" in e.value.fields
