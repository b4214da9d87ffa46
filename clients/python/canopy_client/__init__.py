"""Small helpers around canopy's generated gRPC code (package ``canopy.v1``).

    import canopy_client
    from canopy.v1 import compute_pb2

    with canopy_client.channel() as ch:
        compute = canopy_client.compute(ch)
        for f in compute.ListFlavors(compute_pb2.ListFlavorsRequest()).flavors:
            print(f.name)

The address defaults to $CANOPY_ADDR or 127.0.0.1:8470; a token
($CANOPY_TOKEN, or ``token=``) is sent as ``authorization: Bearer <token>``
on every call. ``canopy.v1`` lives in gen/python (on the .venv's path).
"""

from __future__ import annotations

import collections
import os

import grpc

__all__ = ["DEFAULT_ADDRESS", "channel", "cloud", "compute"]

DEFAULT_ADDRESS = "127.0.0.1:8470"


class _ClientCallDetails(
    collections.namedtuple(
        "_ClientCallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,
):
    pass


class _BearerToken(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds ``authorization: Bearer <token>`` to every call."""

    def __init__(self, token: str):
        self._md = ("authorization", "Bearer " + token)

    def _details(self, d):
        md = list(d.metadata or []) + [self._md]
        return _ClientCallDetails(
            d.method, d.timeout, md, d.credentials,
            getattr(d, "wait_for_ready", None), getattr(d, "compression", None),
        )

    def intercept_unary_unary(self, continuation, d, request):
        return continuation(self._details(d), request)

    def intercept_unary_stream(self, continuation, d, request):
        return continuation(self._details(d), request)

    def intercept_stream_unary(self, continuation, d, request_iterator):
        return continuation(self._details(d), request_iterator)

    def intercept_stream_stream(self, continuation, d, request_iterator):
        return continuation(self._details(d), request_iterator)


def channel(address: str | None = None, token: str | None = None) -> grpc.Channel:
    """Opens an insecure channel to canopy (use it as a context manager)."""
    address = address or os.environ.get("CANOPY_ADDR") or DEFAULT_ADDRESS
    token = token if token is not None else os.environ.get("CANOPY_TOKEN")
    ch = grpc.insecure_channel(address)
    if token:
        ch = grpc.intercept_channel(ch, _BearerToken(token))
    return ch


def compute(ch: grpc.Channel):
    """A ComputeService stub on ``ch``."""
    from canopy.v1 import compute_pb2_grpc

    return compute_pb2_grpc.ComputeServiceStub(ch)


def cloud(ch: grpc.Channel):
    """A CloudService stub on ``ch``."""
    from canopy.v1 import cloud_pb2_grpc

    return cloud_pb2_grpc.CloudServiceStub(ch)
