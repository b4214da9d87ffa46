"""canopy's Python client: one API over many clouds.

    import canopy_client
    from canopy.v1 import compute_pb2, volume_pb2

    with canopy_client.Client() as c:            # $CANOPY_ADDR, the credentials file
        for f in c.paginate(c.compute.ListFlavors, compute_pb2.ListFlavorsRequest()):
            print(f.name)
        vol = c.wait_result(c.volumes.CreateVolume(volume_pb2.CreateVolumeRequest(name="data", size_gib=10)),
                            volume_pb2.Volume)

The generated messages and stubs are the package ``canopy.v1`` (built into
this distribution from canopy's protos). :mod:`canopy_client.aio` is the
asyncio variant.
"""

from ._auth import REFRESH_BEFORE, Credentials, StaticToken, TokenSource, call_credentials, default_credentials_path
from ._client import DEFAULT_TIMEOUT, Client, ObjectReader, Pager, Service
from ._common import CHUNK_SIZE, DEFAULT_ADDRESS, is_loopback, result
from ._errors import (Aborted, AlreadyExists, AuthError, CanopyError, Cancelled, DataLoss, DeadlineExceeded,
                      FailedPrecondition, Internal, InvalidArgument, NotFound, OperationFailed, OutOfRange,
                      PermissionDenied, ResourceExhausted, Unauthenticated, Unavailable, Unimplemented, Unknown,
                      from_rpc_error)

__all__ = [
    "Client", "Pager", "ObjectReader", "Service", "Credentials", "TokenSource", "StaticToken", "call_credentials",
    "default_credentials_path", "result", "is_loopback", "REFRESH_BEFORE", "DEFAULT_TIMEOUT", "DEFAULT_ADDRESS",
    "CHUNK_SIZE", "CanopyError", "OperationFailed", "AuthError", "from_rpc_error", "Cancelled", "Unknown",
    "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists", "PermissionDenied", "ResourceExhausted",
    "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss",
    "Unauthenticated",
]
