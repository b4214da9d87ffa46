"""Exceptions carrying canopyd's google.rpc error details."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import grpc
from google.rpc import error_details_pb2, status_pb2

_DETAIL_TYPES = {
    m.DESCRIPTOR.full_name: m
    for m in (
        error_details_pb2.BadRequest, error_details_pb2.ResourceInfo, error_details_pb2.ErrorInfo,
        error_details_pb2.PreconditionFailure, error_details_pb2.RetryInfo, error_details_pb2.QuotaFailure,
        error_details_pb2.DebugInfo, error_details_pb2.Help, error_details_pb2.LocalizedMessage,
        error_details_pb2.RequestInfo,
    )
}


class AuthError(Exception):
    """Getting a token failed (bad client credentials, token endpoint down)."""


class CanopyError(grpc.RpcError, Exception):
    """A failed call (or operation) with its google.rpc details decoded.

    Still a :class:`grpc.RpcError` (``code()`` and ``details()`` work as on
    any), and one subclass per code: :class:`NotFound`,
    :class:`InvalidArgument`, …
    """

    def __init__(self, code: grpc.StatusCode, message: str, details: Optional[List[Any]] = None):
        super().__init__(f"{code.name}: {message}")
        self.status_code = code
        self.message = message
        #: Every detail, decoded to its google.rpc message where known.
        self.rpc_details: List[Any] = list(details or [])
        #: (field, description) of each bad request field (google.rpc.BadRequest).
        self.field_violations: List[Tuple[str, str]] = []
        #: The resource not found or in the way (google.rpc.ResourceInfo).
        self.resource_info: Optional[error_details_pb2.ResourceInfo] = None
        #: The machine-readable reason and metadata (google.rpc.ErrorInfo).
        self.error_info: Optional[error_details_pb2.ErrorInfo] = None
        #: (type, subject, description) of failed preconditions.
        self.precondition_violations: List[Tuple[str, str, str]] = []
        for d in self.rpc_details:
            if isinstance(d, error_details_pb2.BadRequest):
                self.field_violations += [(v.field, v.description) for v in d.field_violations]
            elif isinstance(d, error_details_pb2.ResourceInfo):
                self.resource_info = d
            elif isinstance(d, error_details_pb2.ErrorInfo):
                self.error_info = d
            elif isinstance(d, error_details_pb2.PreconditionFailure):
                self.precondition_violations += [(v.type, v.subject, v.description) for v in d.violations]

    # grpc.RpcError / grpc.Call compatibility
    def code(self) -> grpc.StatusCode:
        return self.status_code

    def details(self) -> str:
        return self.message

    @property
    def reason(self) -> str:
        """ErrorInfo's reason (e.g. ``CAPABILITY_MISSING``), or ``""``."""
        return self.error_info.reason if self.error_info else ""

    @property
    def fields(self) -> Dict[str, str]:
        """The field violations as a dict: field → description."""
        return dict(self.field_violations)

    def __str__(self) -> str:
        s = f"{self.status_code.name}: {self.message}"
        for f, d in self.field_violations:
            s += f"; field {f}: {d}"
        return s


class Cancelled(CanopyError): pass  # noqa: E701
class Unknown(CanopyError): pass  # noqa: E701
class InvalidArgument(CanopyError): pass  # noqa: E701
class DeadlineExceeded(CanopyError): pass  # noqa: E701
class NotFound(CanopyError): pass  # noqa: E701
class AlreadyExists(CanopyError): pass  # noqa: E701
class PermissionDenied(CanopyError): pass  # noqa: E701
class ResourceExhausted(CanopyError): pass  # noqa: E701
class FailedPrecondition(CanopyError): pass  # noqa: E701
class Aborted(CanopyError): pass  # noqa: E701
class OutOfRange(CanopyError): pass  # noqa: E701
class Unimplemented(CanopyError): pass  # noqa: E701
class Internal(CanopyError): pass  # noqa: E701
class Unavailable(CanopyError): pass  # noqa: E701
class DataLoss(CanopyError): pass  # noqa: E701
class Unauthenticated(CanopyError): pass  # noqa: E701


_BY_CODE = {
    grpc.StatusCode.CANCELLED: Cancelled, grpc.StatusCode.UNKNOWN: Unknown,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument, grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.NOT_FOUND: NotFound, grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied, grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition, grpc.StatusCode.ABORTED: Aborted,
    grpc.StatusCode.OUT_OF_RANGE: OutOfRange, grpc.StatusCode.UNIMPLEMENTED: Unimplemented,
    grpc.StatusCode.INTERNAL: Internal, grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DATA_LOSS: DataLoss, grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
}
_CODE_BY_NUMBER = {c.value[0]: c for c in grpc.StatusCode}


class OperationFailed(CanopyError):
    """An operation that ended with an error; ``operation`` is it."""

    def __init__(self, operation):
        err = operation.error
        code = _CODE_BY_NUMBER.get(err.code, grpc.StatusCode.UNKNOWN)
        info = error_details_pb2.ErrorInfo(reason=err.reason, domain="canopy", metadata=dict(err.metadata))
        super().__init__(code, err.message, [info] if err.reason else [])
        self.operation = operation


def _status_bin(trailing) -> Optional[bytes]:
    if trailing is None:
        return None
    if hasattr(trailing, "get_all"):  # grpc.aio.Metadata
        vals = trailing.get_all("grpc-status-details-bin")
        return vals[0] if vals else None
    for key, value in trailing:
        if key == "grpc-status-details-bin":
            return value
    return None


def _decode_details(trailing) -> List[Any]:
    value = _status_bin(trailing)
    if value:
        if True:
            st = status_pb2.Status.FromString(value)
            out: List[Any] = []
            for any_ in st.details:
                name = any_.type_url.rsplit("/", 1)[-1]
                cls = _DETAIL_TYPES.get(name)
                if cls is None:
                    out.append(any_)
                    continue
                m = cls()
                any_.Unpack(m)
                out.append(m)
            return out
    return []


def from_rpc_error(e: grpc.RpcError) -> grpc.RpcError:
    """``e`` as the :class:`CanopyError` subclass of its code, details decoded
    (``e`` itself when it is one already or carries no status)."""
    if isinstance(e, CanopyError) or not hasattr(e, "code"):
        return e
    code = e.code()
    if code is None:
        return e
    trailing = e.trailing_metadata() if hasattr(e, "trailing_metadata") else None
    message = e.details() or ""
    if code == grpc.StatusCode.UNAVAILABLE and "Getting metadata from plugin failed" in message:
        # gRPC reports a call credentials failure (no token: bad client
        # secret, token endpoint refused) as UNAVAILABLE; it is not.
        code = grpc.StatusCode.UNAUTHENTICATED
    cls = _BY_CODE.get(code, CanopyError)
    return cls(code, message, _decode_details(trailing))
