"""Authentication: credentials file, explicit client credentials, raw
tokens, refresh before expiry, TLS rules, and the AuthService."""

import json
import os

import grpc
import pytest

import canopy_client
from canopy.v1 import auth_pb2, cloud_pb2, compute_pb2

CREDS = os.environ["CANOPY_CREDENTIALS"]


def test_credentials_file_and_env():
    c = canopy_client.Credentials.from_file(CREDS)
    assert c.token_url.endswith("/oauth2/token") and c.client_id.startswith("cnp-")
    with canopy_client.Client(credentials=CREDS) as cl:
        assert cl.clouds.GetCloud(cloud_pb2.GetCloudRequest(name="local")).name == "local"


def test_explicit_client_credentials_and_refresh(monkeypatch):
    raw = json.load(open(CREDS))
    with canopy_client.Client(os.environ["CANOPY_ADDR"], client_id=raw["client_id"],
                              client_secret=raw["client_secret"], token_url=raw["token_url"]) as c:
        c.compute.ListFlavors(compute_pb2.ListFlavorsRequest())
        c.compute.ListFlavors(compute_pb2.ListFlavorsRequest())
        assert c.token_source.fetches == 1  # reused
        # A token within REFRESH_BEFORE of its expiry is replaced before the next call.
        monkeypatch.setattr(canopy_client._auth, "REFRESH_BEFORE", 10**9)
        c.compute.ListFlavors(compute_pb2.ListFlavorsRequest())
        assert c.token_source.fetches == 2


def test_raw_token():
    src = canopy_client.TokenSource(canopy_client.Credentials.from_file(CREDS))
    with canopy_client.Client(token=src.token()) as c:
        assert c.compute.ListFlavors(compute_pb2.ListFlavorsRequest()).flavors


def test_bad_secret_is_auth_error():
    good = canopy_client.Credentials.from_file(CREDS)
    bad = canopy_client.Credentials(good.client_id, "wrong", good.token_url)
    with canopy_client.Client(credentials=bad) as c:
        with pytest.raises(grpc.RpcError) as e:
            c.compute.ListFlavors(compute_pb2.ListFlavorsRequest())
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_no_token_is_unauthenticated(tmp_path, monkeypatch):
    monkeypatch.delenv("CANOPY_TOKEN", raising=False)
    monkeypatch.setenv("CANOPY_CREDENTIALS", str(tmp_path / "none.json"))
    with canopy_client.Client(os.environ["CANOPY_ADDR"]) as c:
        assert c.token_source is None
        with pytest.raises(canopy_client.Unauthenticated):
            c.compute.ListFlavors(compute_pb2.ListFlavorsRequest())


def test_plaintext_token_refused_off_loopback():
    with pytest.raises(ValueError, match="plaintext"):
        canopy_client.Client("canopy.example.com:8470", token="x")
    assert canopy_client.is_loopback("[::1]:1") and not canopy_client.is_loopback("10.1.2.3:1")


def test_auth_service(client, name):
    created = client.auth.CreateClient(auth_pb2.CreateClientRequest(name=name, project="default", scopes=["canopy.read"]))
    assert created.client_secret
    cid = created.client.id
    assert client.auth.GetClient(auth_pb2.GetClientRequest(id=cid)).name == name
    assert any(x.id == cid for x in client.paginate(client.auth.ListClients, auth_pb2.ListClientsRequest(page_size=1)))
    rotated = client.auth.RotateClientSecret(auth_pb2.RotateClientSecretRequest(id=cid))
    assert rotated.client_secret and rotated.client_secret != created.client_secret
    # The read-only client can read, not write.
    ro = canopy_client.Credentials(cid, rotated.client_secret, canopy_client.Credentials.from_file(CREDS).token_url)
    with canopy_client.Client(credentials=ro) as c:
        c.compute.ListFlavors(compute_pb2.ListFlavorsRequest())
        with pytest.raises(canopy_client.PermissionDenied):
            c.compute.CreateKeypair(compute_pb2.CreateKeypairRequest(name=name))
    client.auth.DeleteClient(auth_pb2.DeleteClientRequest(id=cid))
    with pytest.raises(canopy_client.NotFound):
        client.auth.GetClient(auth_pb2.GetClientRequest(id=cid))
    key = client.auth.RotateSigningKey(auth_pb2.RotateSigningKeyRequest())
    assert key.key_id in key.published_key_ids


def test_named_profiles(tmp_path, monkeypatch):
    # The file canopy login --profile writes: the default profile at the
    # top level, named ones under "profiles". The named one here holds the
    # real client; the default one a client canopyd does not know.
    raw = json.load(open(CREDS))
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps({
        "client_id": "cnp-unknown", "client_secret": "wrong", "token_url": raw["token_url"],
        "profiles": {"ops": {k: raw[k] for k in ("client_id", "client_secret", "token_url", "grpc_addr") if k in raw}},
    }))
    monkeypatch.delenv("CANOPY_PROFILE", raising=False)
    assert canopy_client.Credentials.from_file(path).client_id == "cnp-unknown"
    assert canopy_client.Credentials.from_file(path, "ops").client_id == raw["client_id"]
    with canopy_client.Client(os.environ["CANOPY_ADDR"], credentials=path, profile="ops") as c:
        assert c.compute.ListFlavors(compute_pb2.ListFlavorsRequest()).flavors
    monkeypatch.setenv("CANOPY_PROFILE", "ops")
    assert canopy_client.Credentials.from_file(path).client_id == raw["client_id"]
    with canopy_client.Client(os.environ["CANOPY_ADDR"], credentials=path) as c:
        assert c.compute.ListFlavors(compute_pb2.ListFlavorsRequest()).flavors
    # The default profile's unknown client is refused by canopyd.
    with canopy_client.Client(os.environ["CANOPY_ADDR"], credentials=path, profile="default") as c:
        with pytest.raises(grpc.RpcError) as e:
            c.compute.ListFlavors(compute_pb2.ListFlavorsRequest())
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(ValueError, match=r"no profile 'nope' \(have: default, ops\)"):
        canopy_client.Credentials.from_file(path, "nope")
    # A file with named profiles only has no default one.
    only = tmp_path / "only-named.json"
    only.write_text(json.dumps({"profiles": {"ops": raw}}))
    monkeypatch.delenv("CANOPY_PROFILE")
    with pytest.raises(ValueError, match=r"no profile 'default' \(have: ops\)"):
        canopy_client.Credentials.from_file(only)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"profiles": {"ops": {"client_id": "x"}}}))
    with pytest.raises(ValueError, match=r"profile 'ops' needs client_secret, token_url"):
        canopy_client.Credentials.from_file(bad, "ops")
