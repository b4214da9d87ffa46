"""ComputeService and CloudService: flavors, images, servers, keypairs,
watch, paging, errors with details."""

import threading

import pytest

import canopy_client
from canopy.v1 import cloud_pb2, common_pb2, compute_pb2

LOCAL = common_pb2.Location(cloud="local")


def test_clouds(client):
    clouds = list(client.paginate(client.clouds.ListClouds, cloud_pb2.ListCloudsRequest()))
    assert "local" in {c.name for c in clouds}
    assert client.clouds.GetCloud(cloud_pb2.GetCloudRequest(name="local")).kind == "sim"


def test_flavors_and_images_paged(client):
    pager = client.paginate(client.compute.ListFlavors, compute_pb2.ListFlavorsRequest(page_size=2))
    flavors = pager.all()
    assert {"m1.tiny", "m1.small"} <= {f.name for f in flavors} and pager.cloud_errors == []
    assert len(list(pager.pages())) >= 3
    tiny = next(f for f in flavors if f.name == "m1.tiny")
    assert client.compute.GetFlavor(compute_pb2.GetFlavorRequest(id=tiny.id)).name == "m1.tiny"
    assert client.compute.FindFlavor(compute_pb2.FindFlavorRequest(min_ram_mib=4096)).ram_mib >= 4096
    images = list(client.paginate(client.compute.ListImages, compute_pb2.ListImagesRequest()))
    cirros = next(i for i in images if i.name == "cirros-0.6.2")
    assert client.compute.GetImage(compute_pb2.GetImageRequest(id=cirros.id)).name == cirros.name


def test_server_lifecycle_and_watch(client, name):
    events = []
    watch = client.compute.WatchServers(compute_pb2.WatchServersRequest(name=name))

    def consume():
        try:
            for ev in watch:
                events.append(ev.type)
        except canopy_client.Cancelled:
            pass

    t = threading.Thread(target=consume)
    t.start()
    sv = client.compute.CreateServer(compute_pb2.CreateServerRequest(
        name=name, location=LOCAL, flavor="m1.tiny", image="cirros-0.6.2", wait=True))
    assert sv.status == common_pb2.STATUS_ACTIVE
    assert client.compute.GetServer(compute_pb2.GetServerRequest(id=sv.id)).name == name
    assert sv.id in {s.id for s in client.paginate(client.compute.ListServers, compute_pb2.ListServersRequest(name=name))}
    assert client.compute.StopServer(compute_pb2.StopServerRequest(id=sv.id, wait=True)).status == common_pb2.STATUS_STOPPED
    assert client.compute.StartServer(compute_pb2.StartServerRequest(id=sv.id, wait=True)).status == common_pb2.STATUS_ACTIVE
    assert client.compute.RebootServer(compute_pb2.RebootServerRequest(id=sv.id, wait=True)).status == common_pb2.STATUS_ACTIVE
    client.compute.DeleteServer(compute_pb2.DeleteServerRequest(id=sv.id, wait=True))
    with pytest.raises(canopy_client.NotFound) as e:
        client.compute.GetServer(compute_pb2.GetServerRequest(id=sv.id))
    assert e.value.resource_info.resource_type == "server"
    watch.cancel()
    t.join(10)
    assert compute_pb2.WatchServersResponse.EVENT_TYPE_ADDED in events


def test_keypairs(client, name):
    kp = client.compute.CreateKeypair(compute_pb2.CreateKeypairRequest(name=name, location=LOCAL))
    assert kp.name == name
    assert client.compute.GetKeypair(compute_pb2.GetKeypairRequest(id=kp.id)).name == name
    assert kp.id in {k.id for k in client.paginate(client.compute.ListKeypairs, compute_pb2.ListKeypairsRequest())}
    client.compute.DeleteKeypair(compute_pb2.DeleteKeypairRequest(id=kp.id))


def test_bad_input_names_the_field(client):
    with pytest.raises(canopy_client.InvalidArgument) as e:
        client.compute.CreateServer(compute_pb2.CreateServerRequest(name="", flavor="m1.tiny", image="cirros-0.6.2"))
    assert "name" in e.value.fields
    assert isinstance(e.value, canopy_client.CanopyError) and e.value.code().name == "INVALID_ARGUMENT"
