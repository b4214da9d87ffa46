"""The asyncio client (grpc.aio), shaped like :class:`canopy_client.Client`::

    async with canopy_client.aio.Client() as c:
        vol = await c.wait_result(await c.volumes.CreateVolume(req), volume_pb2.Volume)
        async for s in c.paginate(c.compute.ListServers, compute_pb2.ListServersRequest()):
            print(s.name)

Unary calls are awaited; response streams are ``async for``-ed; errors are
the same :class:`canopy_client.CanopyError` subclasses.
"""

from __future__ import annotations

import asyncio
import time
from typing import IO, Any, AsyncIterator, Callable, List, Optional, Sequence, Tuple, Type, TypeVar, Union

import grpc
import grpc.aio
from google.protobuf import duration_pb2
from google.protobuf import message as _message

from canopy.v1 import common_pb2, image_transfer_pb2, object_pb2, operation_pb2

from . import _common
from ._auth import Credentials
from ._client import DEFAULT_TIMEOUT, _method_kinds
from ._errors import OperationFailed, from_rpc_error

M = TypeVar("M", bound=_message.Message)
_WAIT_SLICE = 30.0


class _AsyncStream:
    def __init__(self, call):
        self._call = call
        self._it = call.__aiter__()

    def __aiter__(self):
        return self

    async def __anext__(self):
        try:
            return await self._it.__anext__()
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None

    def __getattr__(self, name):
        return getattr(self._call, name)


class Service:
    """A generated asyncio stub raising :class:`CanopyError`; ``raw`` is the stub."""

    def __init__(self, stub, kinds: dict, default_timeout: Optional[float]):
        self.raw = stub
        self._kinds = kinds
        self._timeout = default_timeout

    def __getattr__(self, name: str):
        mc = getattr(self.raw, name)
        _, server_streaming = self._kinds.get(name, (False, False))
        default_timeout = self._timeout

        if server_streaming:
            def call(request, timeout: Optional[float] = None, **kwargs):
                return _AsyncStream(mc(request, timeout=timeout, **kwargs))
        else:
            async def call(request, timeout: Optional[float] = None, **kwargs):
                try:
                    return await mc(request, timeout=timeout if timeout is not None else default_timeout, **kwargs)
                except grpc.RpcError as e:
                    raise from_rpc_error(e) from None

        call.__name__ = name
        setattr(self, name, call)
        return call


class Pager:
    """``async for item in pager``; ``pages()`` for the responses;
    ``cloud_errors`` after iterating."""

    def __init__(self, method: Callable[..., Any], request: _message.Message, field: Optional[str] = None):
        self._method, self._request, self._field = method, request, field
        self.cloud_errors: List[common_pb2.CloudError] = []

    async def pages(self) -> AsyncIterator[Any]:
        req = type(self._request)()
        req.CopyFrom(self._request)
        seen = set()
        while True:
            page = await self._method(req)
            for ce in _common.cloud_errors(page):
                if ce.cloud not in seen:
                    seen.add(ce.cloud)
                    self.cloud_errors.append(ce)
            yield page
            if not page.next_page_token:
                return
            req.page_token = page.next_page_token

    async def __aiter__(self):
        async for page in self.pages():
            for item in getattr(page, self._field or _common.items_field(page)):
                yield item

    async def all(self) -> list:
        return [x async for x in self]


class Client:
    """The asyncio twin of :class:`canopy_client.Client` (same arguments)."""

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
        opts = [("grpc.max_receive_message_length", 64 << 20), ("grpc.primary_user_agent", "canopy-python-aio")]
        opts += list(options)
        if creds is None:
            self.channel = grpc.aio.insecure_channel(self.address, options=opts)
        else:
            self.channel = grpc.aio.secure_channel(self.address, creds, options=opts)
        for name, stub_cls in _common.SERVICES.items():
            setattr(self, name, Service(stub_cls(self.channel), _method_kinds(stub_cls), timeout))

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def wait(self, operation: Union[operation_pb2.Operation, str], timeout: Optional[float] = None
                   ) -> operation_pb2.Operation:
        """Waits until an operation is done; raises :class:`OperationFailed`
        when it failed, ``TimeoutError`` when ``timeout`` passes first."""
        op = operation if isinstance(operation, operation_pb2.Operation) else operation_pb2.Operation(id=operation)
        deadline = None if timeout is None else time.monotonic() + timeout
        while not op.done:
            slice_ = _WAIT_SLICE
            if deadline is not None:
                slice_ = min(slice_, deadline - time.monotonic())
                if slice_ <= 0:
                    raise asyncio.TimeoutError(f"operation {op.id} not done after {timeout}s")
            req = operation_pb2.WaitOperationRequest(id=op.id, timeout=duration_pb2.Duration(
                seconds=int(slice_), nanos=int((slice_ % 1) * 1e9)))
            op = await self.operations.WaitOperation(req, timeout=slice_ + 10)
        if op.HasField("error"):
            raise OperationFailed(op)
        return op

    async def wait_result(self, operation: Union[operation_pb2.Operation, str], cls: Type[M],
                          timeout: Optional[float] = None) -> M:
        return _common.result(await self.wait(operation, timeout), cls)

    def paginate(self, method: Callable[..., Any], request: _message.Message, field: Optional[str] = None) -> Pager:
        return Pager(method, request, field)

    async def upload_object(self, bucket: str, key: str, data: Union[bytes, IO[bytes]], *,
                            content_type: str = "application/octet-stream", metadata: Optional[dict] = None,
                            size: Optional[int] = None) -> object_pb2.Object:
        """Streams ``data`` into an object (file reads happen on the loop's thread)."""
        reqs = _common.upload_object_requests(bucket, key, data, content_type, metadata, size)
        return await self.objects.UploadObject(reqs, timeout=3600)

    async def download_object(self, bucket: str, key: str, fileobj: Optional[IO[bytes]] = None) -> Any:
        """Streams an object into ``fileobj`` (returning its metadata) or returns its bytes."""
        digest = _common.Digest(f"{bucket}/{key}")
        meta, parts = None, []
        async for msg in self.objects.DownloadObject(object_pb2.DownloadObjectRequest(bucket=bucket, key=key)):
            kind = msg.WhichOneof("data")
            if kind == "object":
                meta = msg.object
            elif kind == "chunk":
                digest.update(msg.chunk)
                if fileobj is None:
                    parts.append(msg.chunk)
                else:
                    fileobj.write(msg.chunk)
            elif kind == "sha256":
                digest.check(msg.sha256)
        return b"".join(parts) if fileobj is None else meta

    async def upload_image(self, data: Union[bytes, IO[bytes]], name: str, *,
                           location: Optional[common_pb2.Location] = None, disk_format: str = "raw",
                           container_format: str = "bare", wait: bool = True, **header) -> Any:
        hdr = image_transfer_pb2.ImageUploadHeader(name=name, location=location, disk_format=disk_format,
                                                   container_format=container_format, wait=wait, **header)
        return await self.images.UploadImage(_common.upload_image_requests(hdr, data), timeout=3600)
