"""The synchronous client."""

from __future__ import annotations

import io
import time
from typing import IO, Any, Callable, Generic, Iterator, List, Optional, Sequence, Tuple, Type, TypeVar, Union

import grpc
from google.protobuf import duration_pb2
from google.protobuf import message as _message

from canopy.v1 import (auth_pb2_grpc, cloud_pb2_grpc, common_pb2, compute_pb2_grpc, container_pb2_grpc,
                       image_transfer_pb2, image_transfer_pb2_grpc, network_pb2_grpc, object_pb2, object_pb2_grpc, operation_pb2,
                       operation_pb2_grpc, volume_pb2_grpc)

from . import _common
from ._auth import Credentials
from ._errors import OperationFailed, from_rpc_error

M = TypeVar("M", bound=_message.Message)
T = TypeVar("T")

#: Seconds a unary call may take when the caller gives no timeout.
DEFAULT_TIMEOUT = 30.0
_WAIT_SLICE = 30.0


def _method_kinds(stub_cls) -> dict:
    """method name → (client_streaming, server_streaming), from the service's descriptor."""
    mod = __import__(stub_cls.__module__.replace("_pb2_grpc", "_pb2"), fromlist=["DESCRIPTOR"])
    svc = mod.DESCRIPTOR.services_by_name[stub_cls.__name__[:-len("Stub")]]
    return {m.name: (m.client_streaming, m.server_streaming) for m in svc.methods}


class _Stream:
    """A response stream whose errors are :class:`CanopyError`; otherwise
    the grpc call (``cancel()``, ``initial_metadata()``, …)."""

    def __init__(self, call):
        self._call = call

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self._call)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None

    def __getattr__(self, name):
        return getattr(self._call, name)


class Service:
    """A generated stub whose calls raise :class:`CanopyError` (with the
    google.rpc details) and get :data:`DEFAULT_TIMEOUT` unless given a
    timeout (response streams get none). ``raw`` is the stub itself."""

    def __init__(self, stub, kinds: dict, default_timeout: Optional[float]):
        self.raw = stub
        self._kinds = kinds
        self._timeout = default_timeout

    def __getattr__(self, name: str):
        mc = getattr(self.raw, name)
        client_streaming, server_streaming = self._kinds.get(name, (False, False))
        default_timeout = self._timeout

        def call(request, timeout: Optional[float] = None, **kwargs):
            if timeout is None and not server_streaming:
                timeout = default_timeout
            try:
                r = mc(request, timeout=timeout, **kwargs)
            except grpc.RpcError as e:
                raise from_rpc_error(e) from None
            return _Stream(r) if server_streaming else r

        call.__name__ = name
        call.__qualname__ = f"{type(self.raw).__name__}.{name}"
        setattr(self, name, call)
        return call


class Pager(Generic[T]):
    """Every item of a List RPC across its pages (``for item in pager``),
    following next_page_token. ``pages()`` yields the responses instead.
    After iterating, ``cloud_errors`` lists the clouds that did not answer
    (a list over several clouds is partial then, not failed)."""

    def __init__(self, method: Callable[..., Any], request: _message.Message, field: Optional[str] = None,
                 timeout: Optional[float] = None):
        self._method = method
        self._request = request
        self._field = field
        self._timeout = timeout
        self.cloud_errors: List[common_pb2.CloudError] = []

    def pages(self) -> Iterator[Any]:
        req = type(self._request)()
        req.CopyFrom(self._request)
        seen = set()
        while True:
            page = self._method(req, timeout=self._timeout)
            for ce in _common.cloud_errors(page):
                if ce.cloud not in seen:
                    seen.add(ce.cloud)
                    self.cloud_errors.append(ce)
            yield page
            if not page.next_page_token:
                return
            req.page_token = page.next_page_token

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from getattr(page, self._field or _common.items_field(page))

    def all(self) -> List[T]:
        """Every item, as a list."""
        return list(self)


class ObjectReader(io.RawIOBase):
    """A streamed download as a read-only file. ``object`` is the object's
    metadata; the bytes are checked against the digest canopyd sends at the
    end (an IOError on a mismatch)."""

    def __init__(self, stream, what: str):
        super().__init__()
        self._stream = stream
        self._buf = b""
        self._eof = False
        self._digest = _common.Digest(what)
        first = self._next()
        self.object = first

    def _next(self):
        for msg in self._stream:
            kind = msg.WhichOneof("data")
            if kind == "chunk":
                self._digest.update(msg.chunk)
                self._buf += msg.chunk
                return None
            if kind == "sha256":
                self._digest.check(msg.sha256)
                continue
            return getattr(msg, kind)  # the metadata (object / image)
        self._eof = True
        return None

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._buf and not self._eof:
            self._next()
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def close(self) -> None:
        if not self._eof:
            try:
                self._stream.cancel()
            except Exception:  # noqa: BLE001
                pass
        super().close()


class Client:
    """A connection to canopyd with every service, authenticated.

    Authentication, first match wins: ``token=`` (a raw token, sent as is);
    ``client_id=``/``client_secret=``/``token_url=``; ``credentials=`` (a
    :class:`Credentials` or a credentials file's path); ``$CANOPY_TOKEN``;
    the credentials file (``$CANOPY_CREDENTIALS`` or the one canopyd's first
    run writes), if it exists — its profile ``profile=``, else
    ``$CANOPY_PROFILE``, else the default one. Client-credential tokens come from canopyd's
    ``/oauth2/token`` and are refreshed 30 s before they expire, sent as
    gRPC call credentials.

    Address: ``address``, ``$CANOPY_ADDR``, the credentials file's
    ``grpc_addr``, ``127.0.0.1:8470``. TLS with ``tls=True`` (system roots),
    ``ca_file=`` / ``$CANOPY_CA_FILE`` or ``root_certificates=``; without
    TLS a token is sent only to a loopback address.

    Services: ``compute``, ``volumes``, ``objects``, ``images`` (image
    upload/download), ``containers``, ``networks``, ``operations``, ``clouds``, ``auth`` —
    the generated stubs, raising :class:`CanopyError` subclasses.
    """

    compute: compute_pb2_grpc.ComputeServiceStub
    volumes: volume_pb2_grpc.VolumeServiceStub
    objects: object_pb2_grpc.ObjectServiceStub
    images: image_transfer_pb2_grpc.ImageTransferServiceStub
    containers: container_pb2_grpc.ContainerServiceStub
    networks: network_pb2_grpc.NetworkServiceStub
    operations: operation_pb2_grpc.OperationServiceStub
    clouds: cloud_pb2_grpc.CloudServiceStub
    auth: auth_pb2_grpc.AuthServiceStub

    def __init__(self, address: Optional[str] = None, *, token: Optional[str] = None,
                 credentials: Union[Credentials, _common.PathLike, None] = None,
                 client_id: Optional[str] = None, client_secret: Optional[str] = None,
                 token_url: Optional[str] = None, tls: Optional[bool] = None,
                 ca_file: Optional[_common.PathLike] = None, root_certificates: Optional[bytes] = None,
                 options: Sequence[Tuple[str, Any]] = (), timeout: Optional[float] = DEFAULT_TIMEOUT,
                 profile: Optional[str] = None):
        self.address, self.token_source, creds = _common.resolve(
            address, token, credentials, client_id, client_secret, token_url, tls, ca_file, root_certificates,
            profile)
        opts = [("grpc.max_receive_message_length", 64 << 20), ("grpc.primary_user_agent", "canopy-python")]
        opts += list(options)
        if creds is None:
            self.channel = grpc.insecure_channel(self.address, options=opts)
        else:
            self.channel = grpc.secure_channel(self.address, creds, options=opts)
        self.timeout = timeout
        for name, stub_cls in _common.SERVICES.items():
            setattr(self, name, Service(stub_cls(self.channel), _method_kinds(stub_cls), timeout))

    # --- lifecycle -----------------------------------------------------
    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- operations ----------------------------------------------------
    def wait(self, operation: Union[operation_pb2.Operation, str], timeout: Optional[float] = None
             ) -> operation_pb2.Operation:
        """Waits until an operation is done (canopyd's WaitOperation: no
        polling of the cloud) and returns it; raises
        :class:`OperationFailed` when it failed, ``TimeoutError`` when
        ``timeout`` seconds pass first."""
        op = operation if isinstance(operation, operation_pb2.Operation) else operation_pb2.Operation(id=operation)
        deadline = None if timeout is None else time.monotonic() + timeout
        while not op.done:
            slice_ = _WAIT_SLICE
            if deadline is not None:
                slice_ = min(slice_, deadline - time.monotonic())
                if slice_ <= 0:
                    raise TimeoutError(f"operation {op.id} not done after {timeout}s")
            req = operation_pb2.WaitOperationRequest(id=op.id, timeout=duration_pb2.Duration(
                seconds=int(slice_), nanos=int((slice_ % 1) * 1e9)))
            op = self.operations.WaitOperation(req, timeout=slice_ + 10)
        if op.HasField("error"):
            raise OperationFailed(op)
        return op

    def wait_result(self, operation: Union[operation_pb2.Operation, str], cls: Type[M],
                    timeout: Optional[float] = None) -> M:
        """:meth:`wait`, then the resource it made or changed as ``cls``::

            vol = c.wait_result(c.volumes.CreateVolume(req), volume_pb2.Volume)
        """
        return _common.result(self.wait(operation, timeout), cls)

    # --- paging --------------------------------------------------------
    def paginate(self, method: Callable[..., Any], request: _message.Message, field: Optional[str] = None
                 ) -> Pager[Any]:
        """Every item of a List RPC: ``for s in c.paginate(c.compute.ListServers,
        compute_pb2.ListServersRequest(page_size=100)): …``."""
        return Pager(method, request, field)

    # --- objects and images --------------------------------------------
    def upload_object(self, bucket: str, key: str, data: Union[bytes, IO[bytes]], *,
                      content_type: str = "application/octet-stream", metadata: Optional[dict] = None,
                      size: Optional[int] = None, timeout: Optional[float] = None) -> object_pb2.Object:
        """Streams ``data`` (bytes or a binary file) into an object; its
        sha256 is sent last and checked by canopyd before it commits."""
        reqs = _common.upload_object_requests(bucket, key, data, content_type, metadata, size)
        return self.objects.UploadObject(reqs, timeout=timeout or 3600)

    def open_object(self, bucket: str, key: str, *, offset: int = 0, length: Optional[int] = None) -> ObjectReader:
        """The object as a readable, streamed file (``.object`` is its metadata)."""
        req = object_pb2.DownloadObjectRequest(bucket=bucket, key=key, offset=offset)
        if length is not None:
            req.length = length
        return ObjectReader(self.objects.DownloadObject(req), f"{bucket}/{key}")

    def download_object(self, bucket: str, key: str, fileobj: Optional[IO[bytes]] = None, **kw) -> Any:
        """Streams an object into ``fileobj`` and returns its metadata, or,
        without ``fileobj``, returns its bytes."""
        with self.open_object(bucket, key, **kw) as r:
            if fileobj is None:
                return r.read()
            while True:
                chunk = r.read(_common.CHUNK_SIZE)
                if not chunk:
                    return r.object
                fileobj.write(chunk)

    def upload_image(self, data: Union[bytes, IO[bytes]], name: str, *, location: Optional[common_pb2.Location] = None,
                     disk_format: str = "raw", container_format: str = "bare", wait: bool = True,
                     timeout: Optional[float] = None, **header) -> Any:
        """Streams an image (bytes or a binary file) into a cloud's catalogue."""
        hdr = image_transfer_pb2.ImageUploadHeader(name=name, location=location, disk_format=disk_format,
                                                   container_format=container_format, wait=wait, **header)
        return self.images.UploadImage(_common.upload_image_requests(hdr, data), timeout=timeout or 3600)

    def open_image(self, image_id: str) -> ObjectReader:
        """An image's bytes as a readable, streamed file (``.object`` is the Image)."""
        return ObjectReader(self.images.DownloadImage(image_transfer_pb2.DownloadImageRequest(id=image_id)),
                            f"image {image_id}")

    def download_image(self, image_id: str, fileobj: Optional[IO[bytes]] = None) -> Any:
        """Streams an image into ``fileobj`` and returns its metadata, or its bytes."""
        with self.open_image(image_id) as r:
            if fileobj is None:
                return r.read()
            while True:
                chunk = r.read(_common.CHUNK_SIZE)
                if not chunk:
                    return r.object
                fileobj.write(chunk)
