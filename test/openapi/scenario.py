"""A user's scenario with a client generated from canopyd's served OpenAPI
document by openapi-python-client (test/openapi/test.sh generates it as the
package canopy_rest): a token from /oauth2/token, a server created with
wait, listed, got and deleted, a volume, a bucket with an object uploaded
and downloaded through the byte routes and through signed URLs, and an
image uploaded and downloaded. Every answer is read through the generated
models, so a field the document names wrongly fails here.

Environment: CANOPY_REST (base URL), CANOPY_CREDENTIALS (the first-run
credentials file).
"""

import hashlib
import io
import json
import os
import sys
import urllib.parse
import uuid

from canopy_rest import AuthenticatedClient, Client
from canopy_rest.api.compute_service import (
    compute_service_create_server,
    compute_service_delete_server,
    compute_service_get_server,
    compute_service_list_flavors,
    compute_service_list_servers,
)
from canopy_rest.api.image_transfer_service import (
    image_transfer_service_download_image,
    image_transfer_service_upload_image,
)
from canopy_rest.api.o_auth_2 import o_auth_2_token
from canopy_rest.api.signed_url import signed_url_get, signed_url_put
from canopy_rest.api.object_service import (
    object_service_create_bucket,
    object_service_create_download_url,
    object_service_create_upload_url,
    object_service_delete_bucket,
    object_service_delete_object,
    object_service_download_object,
    object_service_get_object,
    object_service_list_objects,
    object_service_upload_object,
)
from canopy_rest.api.volume_service import (
    volume_service_create_volume,
    volume_service_delete_volume,
    volume_service_get_volume,
)
from canopy_rest.models import (
    CreateBucketRequest,
    CreateDownloadURLBody,
    CreateUploadURLBody,
    CreateServerRequest,
    CreateVolumeRequest,
    ListServersResponse,
    Location,
    Object,
    Operation,
    RpcStatus,
    Server,
    SignedURL,
    TokenError,
    TokenErrorError,
    TokenRequest,
    TokenRequestGrantType,
    TokenResponse,
    TokenResponseTokenType,
    V1Status,
    Volume,
)
from canopy_rest.types import File, Unset

checks = 0


def check(cond, what):
    global checks
    if not cond:
        sys.exit(f"FAIL: {what}")
    checks += 1
    print(f"ok {checks} - {what}")


def signed_parts(url):
    """/signed/{cloud}/{bucket/key}?expires=&signature= as the generated
    operation's arguments."""
    u = urllib.parse.urlsplit(url)
    rest = u.path.removeprefix("/signed/")
    cloud, path = rest.split("/", 1)
    return cloud, urllib.parse.unquote(path), dict(urllib.parse.parse_qsl(u.query))


def main():
    base = os.environ["CANOPY_REST"]
    with open(os.environ["CANOPY_CREDENTIALS"]) as f:
        creds = json.load(f)

    # The token endpoint, with client_secret_post; a wrong secret is the
    # documented 401 TokenError.
    anon = Client(base_url=base)
    bad = o_auth_2_token.sync(client=anon, body=TokenRequest(
        grant_type=TokenRequestGrantType.CLIENT_CREDENTIALS, client_id=creds["client_id"], client_secret="wrong"))
    check(isinstance(bad, TokenError) and bad.error == TokenErrorError.INVALID_CLIENT, "a wrong secret is a 401 invalid_client")
    tok = o_auth_2_token.sync(client=anon, body=TokenRequest(
        grant_type=TokenRequestGrantType.CLIENT_CREDENTIALS, client_id=creds["client_id"], client_secret=creds["client_secret"]))
    check(isinstance(tok, TokenResponse) and tok.token_type == TokenResponseTokenType.BEARER and tok.expires_in > 0, "token issued")
    c = AuthenticatedClient(base_url=base, token=tok.access_token, raise_on_unexpected_status=True)

    # Without a token: the documented error shape, google.rpc.Status (16).
    st = compute_service_list_servers.sync(client=AuthenticatedClient(base_url=base, token="x"))
    check(isinstance(st, RpcStatus) and st.code == 16, "a bad token is UNAUTHENTICATED as a google.rpc.Status")

    flavors = compute_service_list_flavors.sync(client=c)
    check(len(flavors.flavors) > 0 and int(flavors.flavors[0].ram_mib) > 0, "flavors listed with snake_case fields (ram_mib, an int64 string)")

    # A server, created with wait.
    name = f"oa-{uuid.uuid4().hex[:8]}"
    srv = compute_service_create_server.sync(client=c, body=CreateServerRequest(
        name=name, flavor="m1.tiny", image="cirros-0.6.2", location=Location(cloud="east"), wait=True,
        request_id=str(uuid.uuid4())))
    check(isinstance(srv, Server) and srv.status == V1Status.STATUS_ACTIVE, f"server {srv.id} is ACTIVE after a create with wait")
    check(srv.location.cloud == "east" and srv.native_id and srv.create_time is not None, "its location, native id and create time")
    listed = compute_service_list_servers.sync(client=c)
    check(isinstance(listed, ListServersResponse) and any(s.id == srv.id for s in listed.servers)
          and listed.cloud_errors == [], "listed, with no cloud errors")
    got = compute_service_get_server.sync(srv.id, client=c)
    check(got.id == srv.id and got.name == name, "got by id")
    got = compute_service_get_server.sync(name, client=c)
    check(got.id == srv.id, "got by name")
    missing = compute_service_get_server.sync("no-such-server", client=c)
    check(isinstance(missing, RpcStatus) and missing.code == 5, "a missing server is NOT_FOUND as a google.rpc.Status")

    # A volume: an Operation, waited on.
    op = volume_service_create_volume.sync(client=c, body=CreateVolumeRequest(
        name=f"{name}-vol", size_gib="1", location=Location(cloud="east"), wait=True))
    check(isinstance(op, Operation) and op.done and isinstance(op.error, Unset), "volume create operation done")
    vol_id = op.metadata.target_id
    vol = volume_service_get_volume.sync(vol_id, client=c)
    check(isinstance(vol, Volume) and vol.size_gib == "1", f"volume {vol_id} got, size_gib \"1\" (an int64 is a string)")

    # Object bytes through the byte routes.
    bucket = f"{name}-b"
    b = object_service_create_bucket.sync(client=c, body=CreateBucketRequest(name=bucket, location=Location(cloud="east")))
    check(b.name == bucket, "bucket created")
    data = os.urandom(300_000)
    key = "dir/blob.bin"
    ob = object_service_upload_object.sync(bucket, key, client=c,
                                           body=File(payload=io.BytesIO(data), file_name="blob.bin", mime_type="application/octet-stream"),
                                           x_canopy_sha_256=hashlib.sha256(data).hexdigest())
    check(isinstance(ob, Object) and ob.key == key and int(ob.size_bytes) == len(data), "object uploaded (PUT, streamed); size_bytes is an int64 string")
    meta = object_service_get_object.sync(bucket, key, client=c)
    check(isinstance(meta, Object) and meta.sha256 == hashlib.sha256(data).hexdigest(), "object metadata")
    objs = object_service_list_objects.sync(bucket, client=c)
    check([o.key for o in objs.objects] == [key], "object listed")
    down = object_service_download_object.sync(bucket, key, client=c)
    check(down.payload.read() == data, "object downloaded whole (GET /download/…)")
    part = object_service_download_object.sync_detailed(bucket, key, client=c, range_="bytes=10-19")
    check(part.status_code == 206 and part.parsed.payload.read() == data[10:20], "a range of it (206)")

    # Signed URLs: canopyd serves the simulator's; the signature is the
    # only authorization (an anonymous client).
    up = object_service_create_upload_url.sync(bucket, client=c, body=CreateUploadURLBody(key="signed.bin"))
    check(isinstance(up, SignedURL) and up.method == "PUT" and up.expire_time is not None, "an upload URL")
    signed = os.urandom(5000)
    cloud, path, q = signed_parts(up.url)
    r = signed_url_put.sync_detailed(cloud, path, client=anon, body=File(payload=io.BytesIO(signed)),
                                     expires=q["expires"], signature=q["signature"])
    check(r.status_code == 200, "uploaded through it (PUT /signed/…)")
    dl = object_service_create_download_url.sync(bucket, client=c, body=CreateDownloadURLBody(key="signed.bin"))
    cloud, path, q = signed_parts(dl.url)
    got_signed = signed_url_get.sync(cloud, path, client=anon, expires=q["expires"], signature=q["signature"])
    check(isinstance(got_signed, File) and got_signed.payload.read() == signed, "downloaded through a download URL (GET /signed/…)")
    forged = signed_url_get.sync_detailed(cloud, path, client=anon, expires=q["expires"], signature="0" * 64)
    check(forged.status_code == 403, "a forged signature is 403")
    object_service_delete_object.sync(bucket, "signed.bin", client=c)

    # Image bytes.
    img = os.urandom(70_000)
    im = image_transfer_service_upload_image.sync(client=c, body=File(payload=io.BytesIO(img), mime_type="application/octet-stream"),
                                                  name=f"{name}-img", disk_format="raw", location_cloud="east", wait=True)
    check(im.id and int(im.size_bytes) == len(img), f"image {im.id} uploaded")
    got_img = image_transfer_service_download_image.sync(im.id, client=c)
    check(got_img.payload.read() == img, "image downloaded whole")

    # Clean up: deletes answer as documented.
    object_service_delete_object.sync(bucket, key, client=c)
    object_service_delete_bucket.sync(bucket, client=c)
    delop = volume_service_delete_volume.sync(vol_id, client=c, wait=True)
    check(isinstance(delop, Operation) and delop.done, "volume deleted")
    compute_service_delete_server.sync(srv.id, client=c, wait=True)
    gone = compute_service_get_server.sync(srv.id, client=c)
    check(isinstance(gone, RpcStatus) and gone.code == 5 or (isinstance(gone, Server) and gone.status == V1Status.STATUS_DELETED),
          "server deleted")
    print(f"{checks} passed, 0 failed")


if __name__ == "__main__":
    main()
