"""What a script does: get a token with OAuth client credentials (plain
requests, client_secret_basic), then call canopyd over REST and gRPC with it.

scripts/test-clients.sh starts canopyd (which wrote its first-run admin
credentials to CANOPY_CREDENTIALS) and sets CANOPY_ADDR and CANOPY_REST.
"""

import json
import os

import grpc
import pytest
import requests

from canopy.v1 import compute_pb2, compute_pb2_grpc

REST = os.environ["CANOPY_REST"]
ADDR = os.environ["CANOPY_ADDR"]


def client_credentials_token(client_id, client_secret, scope=None):
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    r = requests.post(f"{REST}/oauth2/token", data=data, auth=(client_id, client_secret), timeout=10)
    r.raise_for_status()
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    return body["access_token"]


@pytest.fixture(scope="module")
def creds():
    with open(os.environ["CANOPY_CREDENTIALS"]) as f:
        return json.load(f)


def test_discovery_names_the_token_endpoint():
    doc = requests.get(f"{REST}/.well-known/oauth-authorization-server", timeout=10).json()
    assert doc["token_endpoint"].endswith("/oauth2/token")
    assert "client_credentials" in doc["grant_types_supported"]
    keys = requests.get(f"{REST}/.well-known/jwks.json", timeout=10).json()["keys"]
    assert keys and all("d" not in k for k in keys)  # public keys only


def test_token_then_rest_and_grpc(creds):
    token = client_credentials_token(creds["client_id"], creds["client_secret"])
    hdr = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{REST}/v1/flavors", timeout=10).status_code == 401
    flavors = requests.get(f"{REST}/v1/flavors", headers=hdr, timeout=10).json()["flavors"]
    assert any(f["name"] == "m1.tiny" for f in flavors)

    with grpc.insecure_channel(ADDR) as ch:
        stub = compute_pb2_grpc.ComputeServiceStub(ch)
        with pytest.raises(grpc.RpcError) as e:
            stub.ListFlavors(compute_pb2.ListFlavorsRequest(), timeout=10)
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
        md = [("authorization", f"Bearer {token}")]
        names = {f.name for f in stub.ListFlavors(compute_pb2.ListFlavorsRequest(), metadata=md, timeout=10).flavors}
        assert names == {f["name"] for f in flavors}


def test_read_only_token_cannot_write(creds):
    token = client_credentials_token(creds["client_id"], creds["client_secret"])
    hdr = {"Authorization": f"Bearer {token}"}
    r = requests.post(f"{REST}/v1/clients", headers=hdr, json={"name": "ro", "project": "default", "scopes": ["canopy.read"]}, timeout=10)
    assert r.status_code == 200, r.text
    ro = r.json()
    ro_token = client_credentials_token(ro["client"]["id"], ro["client_secret"])
    r = requests.post(f"{REST}/v1/servers", headers={"Authorization": f"Bearer {ro_token}"},
                      json={"name": "x", "flavor": "m1.tiny", "image": "cirros-0.6.2"}, timeout=10)
    assert r.status_code == 403
    with pytest.raises(requests.HTTPError):
        client_credentials_token(ro["client"]["id"], "wrong-secret")
