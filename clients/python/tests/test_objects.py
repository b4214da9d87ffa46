"""ObjectService and ImageTransferService: buckets, streamed file-like
upload and download, copy, signed URLs, images."""

import hashlib
import io
import os
import urllib.request

import grpc
import pytest

import canopy_client
from canopy.v1 import common_pb2, compute_pb2, image_transfer_pb2, object_pb2

LOCAL = common_pb2.Location(cloud="local")


def test_buckets_and_objects(client, name):
    b = client.objects.CreateBucket(object_pb2.CreateBucketRequest(name=name, location=LOCAL))
    assert client.objects.GetBucket(object_pb2.GetBucketRequest(id=b.id)).name == name
    assert b.id in {x.id for x in client.paginate(client.objects.ListBuckets, object_pb2.ListBucketsRequest(name=name))}

    data = os.urandom(3 * canopy_client.CHUNK_SIZE + 123)  # several chunks
    obj = client.upload_object(name, "dir/blob.bin", io.BytesIO(data), content_type="application/x-test")
    assert obj.size_bytes == len(data)
    assert client.objects.GetObject(object_pb2.GetObjectRequest(bucket=name, key="dir/blob.bin")).size_bytes == len(data)
    out = io.BytesIO()
    meta = client.download_object(name, "dir/blob.bin", out)
    assert meta.key == "dir/blob.bin" and out.getvalue() == data
    with client.open_object(name, "dir/blob.bin") as f:  # a file-like, streamed
        head = f.read(10)
        assert head == data[:10]
        assert hashlib.sha256(head + f.read()).digest() == hashlib.sha256(data).digest()
    assert client.download_object(name, "dir/blob.bin", offset=5, length=5) == data[5:10]

    client.objects.CopyObject(object_pb2.CopyObjectRequest(source_bucket=name, source_key="dir/blob.bin",
                                                           destination_bucket=name, destination_key="copy.bin"))
    keys = {o.key for o in client.paginate(client.objects.ListObjects, object_pb2.ListObjectsRequest(bucket=name, page_size=1))}
    assert keys == {"dir/blob.bin", "copy.bin"}

    up = client.objects.CreateUploadURL(object_pb2.CreateUploadURLRequest(bucket=name, key="signed.txt", content_type="text/plain"))
    down = client.objects.CreateDownloadURL(object_pb2.CreateDownloadURLRequest(bucket=name, key="copy.bin"))
    assert up.url and up.method == "PUT" and down.url
    req = urllib.request.Request(up.url, data=b"signed", method=up.method, headers=dict(up.headers))
    urllib.request.urlopen(req, timeout=10).read()
    assert client.download_object(name, "signed.txt") == b"signed"
    assert urllib.request.urlopen(down.url, timeout=10).read() == data

    for key in ("dir/blob.bin", "copy.bin", "signed.txt"):
        client.objects.DeleteObject(object_pb2.DeleteObjectRequest(bucket=name, key=key))
    with pytest.raises(canopy_client.NotFound):
        client.objects.GetObject(object_pb2.GetObjectRequest(bucket=name, key="copy.bin"))
    client.objects.DeleteBucket(object_pb2.DeleteBucketRequest(id=b.id))


def test_images(client, name):
    data = os.urandom(canopy_client.CHUNK_SIZE + 7)
    im = client.upload_image(io.BytesIO(data), name, location=LOCAL)
    assert im.name == name and im.size_bytes == len(data)
    assert client.compute.GetImage(compute_pb2.GetImageRequest(id=im.id)).name == name
    out = io.BytesIO()
    meta = client.download_image(im.id, out)
    assert meta.id == im.id and out.getvalue() == data
    with pytest.raises(canopy_client.NotFound):
        client.download_image("00000000-0000-4000-8000-000000000000")


def test_render_image_refuses_bad_input(client):
    # RenderImage streams a header (and a tarball): a manifest with an
    # unknown field is refused naming it, before any byte is rendered.
    hdr = image_transfer_pb2.RenderImageHeader(manifest="name: x\ncolour: blue\noutputs: [{format: oci}]\n",
                                               tarball_sha256="ab" * 32)
    with pytest.raises(grpc.RpcError) as e:
        client.images.RenderImage(iter([image_transfer_pb2.RenderImageRequest(header=hdr)]), timeout=30)
    assert e.value.code().name == "INVALID_ARGUMENT" and "colour" in e.value.details()


def test_image_sharing_and_delete(client, name):
    shared = compute_pb2.VISIBILITY_SHARED
    im = client.upload_image(b"disk bytes", name, location=LOCAL, visibility=shared, shared_projects=["team-b"])
    assert im.visibility == shared and list(im.shared_projects) == ["team-b"]
    assert im.location.project  # the uploader's project

    # AIP-134: the mask names what changes.
    up = client.compute.UpdateImage(compute_pb2.UpdateImageRequest(
        image=compute_pb2.Image(id=im.id, visibility=compute_pb2.VISIBILITY_PUBLIC), update_mask={"paths": ["visibility"]}))
    assert up.visibility == compute_pb2.VISIBILITY_PUBLIC and not up.shared_projects
    with pytest.raises(canopy_client.InvalidArgument) as bad:
        client.compute.UpdateImage(compute_pb2.UpdateImageRequest(image=compute_pb2.Image(id=im.id, visibility=42)))
    assert "image.visibility" in bad.value.fields
    with pytest.raises(canopy_client.InvalidArgument) as bad:
        client.upload_image(b"x", name + "-bad", location=LOCAL, shared_projects=["team-b"])
    assert "shared_projects" in bad.value.fields

    gone = client.compute.DeleteImage(compute_pb2.DeleteImageRequest(id=im.id))
    assert gone.id == im.id and gone.status == common_pb2.STATUS_DELETED
    with pytest.raises(canopy_client.NotFound):
        client.compute.GetImage(compute_pb2.GetImageRequest(id=im.id))
    with pytest.raises(canopy_client.NotFound):
        client.compute.DeleteImage(compute_pb2.DeleteImageRequest(id=im.id))
    again = client.compute.DeleteImage(compute_pb2.DeleteImageRequest(id=im.id, allow_missing=True))
    assert again.status == common_pb2.STATUS_DELETED


def test_image_replicate_and_placements(client, name):
    # ReplicateImage is an operation; an image already in every cloud it
    # names (here its own) is done with nothing moved, and
    # ListImagePlacements shows where it is: its origin.
    im = client.upload_image(b"replicated bytes", name, location=LOCAL)
    op = client.images.ReplicateImage(image_transfer_pb2.ReplicateImageRequest(
        image=im.id, clouds=[LOCAL.cloud], request_id=name + "-rep", wait=True))
    op = client.wait(op)
    assert op.done and not op.HasField("error"), op
    pl = client.images.ListImagePlacements(image_transfer_pb2.ListImagePlacementsRequest(image=im.id))
    assert pl.origin_id == im.id
    assert [(p.cloud, p.image_id, p.origin) for p in pl.placements] == [(LOCAL.cloud, im.id, True)]
    # A cloud canopyd does not know is refused, naming the field.
    with pytest.raises(canopy_client.InvalidArgument) as e:
        client.images.ReplicateImage(image_transfer_pb2.ReplicateImageRequest(image=im.id, clouds=["no-such-cloud"]))
    assert "clouds" in e.value.details()
    with pytest.raises(canopy_client.NotFound):
        client.images.ListImagePlacements(image_transfer_pb2.ListImagePlacementsRequest(image="00000000-0000-4000-8000-000000000000"))
