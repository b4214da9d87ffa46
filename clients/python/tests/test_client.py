"""The Python client against a real canopyd: gRPC through the generated
stubs and REST through plain requests, on one id space.

scripts/test-clients.sh starts canopyd and sets CANOPY_ADDR and CANOPY_REST.
"""

import os

import grpc
import pytest
import requests

import canopy_client
from canopy.v1 import common_pb2, compute_pb2

REST = os.environ["CANOPY_REST"]
AUTH = {"Authorization": "Bearer " + os.environ["CANOPY_TOKEN"]}


@pytest.fixture(scope="module")
def compute():
    with canopy_client.channel() as ch:
        yield canopy_client.compute(ch)


def test_flavors_over_grpc_and_rest(compute):
    names = {f.name for f in compute.ListFlavors(compute_pb2.ListFlavorsRequest()).flavors}
    assert {"m1.tiny", "m1.small"} <= names
    body = requests.get(f"{REST}/v1/flavors", headers=AUTH, timeout=10).json()
    assert names == {f["name"] for f in body["flavors"]}


def test_server_created_over_grpc_is_seen_over_rest(compute):
    sv = compute.CreateServer(
        compute_pb2.CreateServerRequest(name="py-web", flavor="m1.tiny", image="cirros-0.6.2", wait=True),
        timeout=30,
    )
    assert sv.status == common_pb2.STATUS_ACTIVE
    got = requests.get(f"{REST}/v1/servers/{sv.id}", headers=AUTH, timeout=10).json()
    assert got["id"] == sv.id and got["native_id"] == sv.native_id
    assert got["status"] == "STATUS_ACTIVE"
    deleted = compute.DeleteServer(compute_pb2.DeleteServerRequest(id=sv.id, wait=True), timeout=30)
    assert deleted.id == sv.id
    r = requests.get(f"{REST}/v1/servers/{sv.id}", headers=AUTH, timeout=10)
    assert r.status_code == 404


def test_bad_input_names_the_field(compute):
    with pytest.raises(grpc.RpcError) as e:
        compute.CreateServer(compute_pb2.CreateServerRequest(name="x", flavor="nope", image="cirros-0.6.2"), timeout=10)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "flavor" in e.value.details()
    r = requests.post(f"{REST}/v1/servers", headers=AUTH, json={"name": "", "flavor": "m1.tiny", "image": "cirros-0.6.2"}, timeout=10)
    assert r.status_code == 400
    violations = [v for d in r.json()["details"] for v in d.get("field_violations", [])]
    assert any(v["field"] == "name" for v in violations)
