"""The asyncio client: the same calls, awaited."""

import asyncio
import io
import os

import pytest

import canopy_client
import canopy_client.aio
from canopy.v1 import common_pb2, compute_pb2, object_pb2, volume_pb2

LOCAL = common_pb2.Location(cloud="local")


def test_aio(name):
    async def main():
        async with canopy_client.aio.Client() as c:
            flavors = await c.paginate(c.compute.ListFlavors, compute_pb2.ListFlavorsRequest(page_size=2)).all()
            assert "m1.tiny" in {f.name for f in flavors}
            vol = await c.wait_result(
                await c.volumes.CreateVolume(volume_pb2.CreateVolumeRequest(name=name, location=LOCAL, size_gib=1)),
                volume_pb2.Volume)
            assert vol.size_gib == 1
            await c.wait(await c.volumes.DeleteVolume(volume_pb2.DeleteVolumeRequest(id=vol.id)))
            with pytest.raises(canopy_client.InvalidArgument) as e:
                await c.volumes.CreateVolume(volume_pb2.CreateVolumeRequest(name="x", size_gib=-1))
            assert "size_gib" in e.value.fields
            await c.objects.CreateBucket(object_pb2.CreateBucketRequest(name=name, location=LOCAL))
            data = os.urandom(canopy_client.CHUNK_SIZE + 1)
            await c.upload_object(name, "k", io.BytesIO(data))
            assert await c.download_object(name, "k") == data
            async for ev in c.compute.WatchServers(compute_pb2.WatchServersRequest()):
                assert ev.type  # the first event (SYNCED at least)
                break
    asyncio.run(main())
