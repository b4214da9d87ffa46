"""What the sync and asyncio clients share: addresses, channel credentials,
paging, operation results, transfer messages."""

from __future__ import annotations

import hashlib
import ipaddress
import os
from pathlib import Path
from typing import IO, Any, Iterator, List, Optional, Tuple, Type, TypeVar, Union

import grpc
from google.protobuf import message as _message

from canopy.v1 import (auth_pb2_grpc, cloud_pb2_grpc, compute_pb2_grpc, container_pb2_grpc,
                       image_transfer_pb2, image_transfer_pb2_grpc, network_pb2_grpc, object_pb2, object_pb2_grpc,
                       operation_pb2, operation_pb2_grpc, volume_pb2_grpc)

from ._auth import Credentials, StaticToken, TokenSource, call_credentials, default_credentials_path
from ._errors import OperationFailed

#: canopyd's gRPC address on its embedded default.
DEFAULT_ADDRESS = "127.0.0.1:8470"
#: Bytes per streamed message.
CHUNK_SIZE = 1 << 20

#: Attribute name on a client → generated stub class.
SERVICES = {
    "compute": compute_pb2_grpc.ComputeServiceStub,
    "volumes": volume_pb2_grpc.VolumeServiceStub,
    "objects": object_pb2_grpc.ObjectServiceStub,
    "images": image_transfer_pb2_grpc.ImageTransferServiceStub,
    "containers": container_pb2_grpc.ContainerServiceStub,
    "networks": network_pb2_grpc.NetworkServiceStub,
    "operations": operation_pb2_grpc.OperationServiceStub,
    "clouds": cloud_pb2_grpc.CloudServiceStub,
    "auth": auth_pb2_grpc.AuthServiceStub,
}

M = TypeVar("M", bound=_message.Message)
PathLike = Union[str, "os.PathLike[str]"]


def is_loopback(address: str) -> bool:
    """Whether ``host:port`` is a loopback address (a token may travel there
    in plaintext)."""
    host = address.rsplit(":", 1)[0] if ":" in address else address
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve(address: Optional[str], token: Optional[str], credentials: Union[Credentials, PathLike, None],
            client_id: Optional[str], client_secret: Optional[str], token_url: Optional[str],
            tls: Optional[bool], ca_file: Optional[PathLike], root_certificates: Optional[bytes],
            profile: Optional[str] = None):
    """Works out the address, the token source and the channel credentials
    as documented on :class:`canopy_client.Client`."""
    source = None
    creds: Optional[Credentials] = None
    if token is None and client_id is None and credentials is None:
        token = os.environ.get("CANOPY_TOKEN") or None
    if token:
        source = StaticToken(token)
    elif client_id is not None:
        if not client_secret or not token_url:
            raise ValueError("client_id needs client_secret and token_url")
        creds = Credentials(client_id, client_secret, token_url)
    elif isinstance(credentials, Credentials):
        creds = credentials
    else:
        path = Path(credentials) if credentials is not None else default_credentials_path()
        if credentials is not None or path.exists():
            creds = Credentials.from_file(path, profile)
    if creds is not None:
        if token_url:
            creds = Credentials(creds.client_id, creds.client_secret, token_url, creds.grpc_addr)
        source = TokenSource(creds)
    address = address or os.environ.get("CANOPY_ADDR") or (creds.grpc_addr if creds else None) or DEFAULT_ADDRESS
    ca_file = ca_file or os.environ.get("CANOPY_CA_FILE") or None
    if ca_file and root_certificates is None:
        root_certificates = Path(ca_file).read_bytes()
    secure = bool(tls) or root_certificates is not None
    if secure:
        chan = grpc.ssl_channel_credentials(root_certificates=root_certificates)
    elif source is not None:
        if not is_loopback(address):
            raise ValueError(f"refusing to send a token in plaintext to {address}: use tls=True or ca_file=")
        # Call credentials need a secure channel; a loopback TCP connection
        # counts as one (grpc's local credentials), in plaintext.
        chan = grpc.local_channel_credentials(grpc.LocalConnectionType.LOCAL_TCP)
    else:
        chan = None
    if source is not None:
        chan = grpc.composite_channel_credentials(chan, call_credentials(source))
    return address, source, chan


def result(op: operation_pb2.Operation, cls: Type[M]) -> M:
    """A done operation's resource unpacked as ``cls`` (a Volume, Snapshot,
    Backup, Container), or :class:`OperationFailed`."""
    if not op.done:
        raise ValueError(f"operation {op.id} is not done")
    if op.HasField("error"):
        raise OperationFailed(op)
    out = cls()
    if not op.response.Unpack(out):
        raise TypeError(f"operation {op.id}: the result is a {op.response.type_url}, not a {cls.DESCRIPTOR.full_name}")
    return out


def items_field(response: _message.Message) -> str:
    """The repeated message field holding a List response's items."""
    for f in response.DESCRIPTOR.fields:
        repeated = f.is_repeated if hasattr(f, "is_repeated") else f.label == f.LABEL_REPEATED
        if repeated and f.message_type is not None and f.name != "cloud_errors" \
                and not f.message_type.GetOptions().map_entry:
            return f.name
    raise TypeError(f"{response.DESCRIPTOR.full_name} has no repeated message field")


def upload_object_requests(bucket: str, key: str, data: Union[bytes, IO[bytes]], content_type: str,
                           metadata: Optional[dict], size: Optional[int]) -> Iterator[object_pb2.UploadObjectRequest]:
    hdr = object_pb2.ObjectUploadHeader(bucket=bucket, key=key, content_type=content_type, metadata=metadata or {})
    if size is not None:
        hdr.size_bytes = size
    yield object_pb2.UploadObjectRequest(header=hdr)
    h = hashlib.sha256()
    for chunk in _chunks(data):
        h.update(chunk)
        yield object_pb2.UploadObjectRequest(chunk=chunk)
    yield object_pb2.UploadObjectRequest(sha256=h.hexdigest())


def upload_image_requests(header: image_transfer_pb2.ImageUploadHeader, data: Union[bytes, IO[bytes]]
                          ) -> Iterator[image_transfer_pb2.UploadImageRequest]:
    yield image_transfer_pb2.UploadImageRequest(header=header)
    h = hashlib.sha256()
    for chunk in _chunks(data):
        h.update(chunk)
        yield image_transfer_pb2.UploadImageRequest(chunk=chunk)
    if not header.sha256:
        yield image_transfer_pb2.UploadImageRequest(sha256=h.hexdigest())


def _chunks(data: Union[bytes, IO[bytes]]) -> Iterator[bytes]:
    if isinstance(data, (bytes, bytearray, memoryview)):
        mv = memoryview(data)
        for i in range(0, len(mv), CHUNK_SIZE):
            yield bytes(mv[i:i + CHUNK_SIZE])
        return
    while True:
        chunk = data.read(CHUNK_SIZE)
        if not chunk:
            return
        yield chunk


class Digest:
    """Checks streamed bytes against the sha256 canopyd sends last."""

    def __init__(self, what: str):
        self._h = hashlib.sha256()
        self._what = what

    def update(self, b: bytes) -> None:
        self._h.update(b)

    def check(self, want: str) -> None:
        got = self._h.hexdigest()
        if got != want:
            raise IOError(f"{self._what}: received bytes hash to {got}, canopyd sent {want}")


def cloud_errors(page: Any) -> List[Any]:
    return list(getattr(page, "cloud_errors", []) or [])


