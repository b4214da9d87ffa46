"""ContainerService on the simulator's container host."""

import threading

import pytest

import canopy_client
from canopy.v1 import common_pb2, container_pb2

IMAGE = "canopy-test/busybox:latest"
LOCAL = common_pb2.Location(cloud="local")


def test_container_lifecycle(client, name):
    seen = []
    watch = client.containers.WatchContainers(container_pb2.WatchContainersRequest(name=name))
    t = threading.Thread(target=lambda: [seen.append(ev) for ev in _until_cancelled(watch)])
    t.start()
    op = client.containers.CreateContainer(container_pb2.CreateContainerRequest(
        name=name, location=LOCAL, image=IMAGE, command=["sh", "-c", "echo hello; sleep 3600"], run=True))
    ctr = client.wait_result(op, container_pb2.Container)
    cid = ctr.id
    W = container_pb2.WaitContainerRequest
    client.containers.WaitContainer(W(id=cid, condition=W.CONDITION_RUNNING))
    assert client.containers.GetContainer(container_pb2.GetContainerRequest(id=cid)).name == name
    assert cid in {c.id for c in client.paginate(client.containers.ListContainers, container_pb2.ListContainersRequest(name=name))}

    logs = b"".join(m.data for m in client.containers.ContainerLogs(container_pb2.ContainerLogsRequest(id=cid)))
    assert b"hello" in logs

    run = client.containers.RunInContainer(container_pb2.RunInContainerRequest(
        start=container_pb2.ExecStart(container=cid, command=["sh", "-c", "echo out; echo err >&2; exit 3"])))
    assert (run.exit_code, run.stdout, run.stderr) == (3, b"out\n", b"err\n")

    def exec_reqs():
        yield container_pb2.ExecContainerRequest(start=container_pb2.ExecStart(container=cid, command=["cat"], stdin=True))
        yield container_pb2.ExecContainerRequest(stdin=b"typed\n")
        yield container_pb2.ExecContainerRequest(close_stdin=True)
    out, code = b"", None
    for m in client.containers.ExecContainer(exec_reqs()):
        kind = m.WhichOneof("msg")
        if kind == "stdout":
            out += m.stdout
        elif kind == "exit_code":
            code = m.exit_code
    assert (out, code) == (b"typed\n", 0)

    assert client.containers.GetContainerStats(container_pb2.GetContainerStatsRequest(id=cid)).id == cid
    stats = client.containers.StreamContainerStats(container_pb2.StreamContainerStatsRequest(id=cid))
    assert next(iter(stats)).id == cid
    stats.cancel()
    assert client.containers.TopContainer(container_pb2.TopContainerRequest(id=cid)).processes

    client.containers.PauseContainer(container_pb2.PauseContainerRequest(id=cid))
    client.containers.UnpauseContainer(container_pb2.UnpauseContainerRequest(id=cid))
    client.containers.UpdateContainer(container_pb2.UpdateContainerRequest(id=cid, memory_mib=256))
    renamed = client.containers.RenameContainer(container_pb2.RenameContainerRequest(id=cid, name=name + "-r"))
    assert renamed.name == name + "-r"
    client.containers.RestartContainer(container_pb2.RestartContainerRequest(id=cid))
    image = client.containers.CommitContainer(container_pb2.CommitContainerRequest(id=cid, reference=f"{name}:snap"))
    assert image.id
    client.containers.StopContainer(container_pb2.StopContainerRequest(id=cid))
    client.containers.StartContainer(container_pb2.StartContainerRequest(id=cid))
    client.containers.KillContainer(container_pb2.KillContainerRequest(id=cid, signal="KILL"))
    client.containers.WaitContainer(W(id=cid, condition=W.CONDITION_EXITED))
    client.containers.DeleteContainer(container_pb2.DeleteContainerRequest(id=cid, force=True))
    with pytest.raises(canopy_client.NotFound):
        client.containers.GetContainer(container_pb2.GetContainerRequest(id=cid))
    watch.cancel()
    t.join(10)
    assert seen


def _until_cancelled(stream):
    try:
        yield from stream
    except canopy_client.Cancelled:
        return
