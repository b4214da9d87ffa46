"""Client credentials, tokens from canopyd's /oauth2/token, and the gRPC
call credentials that send them."""

from __future__ import annotations

import base64
import json
import os
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import grpc

from ._errors import AuthError

#: A token is replaced this many seconds before it expires, so no call
#: starts with a token that could expire on its way.
REFRESH_BEFORE = 30.0


#: The profile of the credentials file to use when none is given (the
#: canopy CLI's ``--profile`` reads the same variable).
PROFILE_ENV = "CANOPY_PROFILE"
#: The profile at the top level of the credentials file.
DEFAULT_PROFILE = "default"


def default_credentials_path() -> Path:
    """Where canopyd's first run writes its admin client's credentials and
    ``canopy login`` writes a client's: ``$CANOPY_CREDENTIALS``, else
    ``$XDG_CONFIG_HOME/canopy/credentials.json``."""
    env = os.environ.get("CANOPY_CREDENTIALS")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "canopy" / "credentials.json"


@dataclass(frozen=True)
class Credentials:
    """An OAuth client's id and secret and where to exchange them for tokens
    (the credentials file's ``client_id``, ``client_secret``, ``token_url``,
    and optionally canopyd's ``grpc_addr``)."""

    client_id: str
    client_secret: str
    token_url: str
    grpc_addr: Optional[str] = None

    @classmethod
    def from_file(cls, path: Union[str, os.PathLike, None] = None,
                  profile: Optional[str] = None) -> "Credentials":
        """Reads one profile of a credentials file (default:
        :func:`default_credentials_path`). The profile is ``profile``, else
        ``$CANOPY_PROFILE``, else the default one at the file's top level;
        named profiles are under ``"profiles"``, as ``canopy login
        --profile`` writes them. A profile the file lacks is a ValueError
        naming those it has."""
        p = Path(path) if path is not None else default_credentials_path()
        name = profile or os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
        with open(p, encoding="utf-8") as f:
            doc = json.load(f)
        if not isinstance(doc, dict):
            raise ValueError(f"{p}: not a credentials file (want a JSON object)")
        named = doc.get("profiles") or {}
        if not isinstance(named, dict):
            raise ValueError(f"{p}: profiles: want an object of profiles")
        have = ([DEFAULT_PROFILE] if doc.get("client_id") else []) + sorted(named)
        raw = doc if name == DEFAULT_PROFILE else named.get(name)
        if not isinstance(raw, dict) or (name == DEFAULT_PROFILE and not doc.get("client_id")):
            raise ValueError(f"{p}: no profile {name!r} (have: {', '.join(have) or 'none'})")
        missing = [k for k in ("client_id", "client_secret", "token_url") if not raw.get(k)]
        if missing:
            raise ValueError(f"{p}: profile {name!r} needs {', '.join(missing)}")
        return cls(raw["client_id"], raw["client_secret"], raw["token_url"], raw.get("grpc_addr") or None)


class TokenSource:
    """Tokens with the client-credentials grant, each reused until
    :data:`REFRESH_BEFORE` seconds before it expires. Thread-safe."""

    def __init__(self, credentials: Credentials, *, scope: Optional[str] = None,
                 ssl_context: Optional[ssl.SSLContext] = None, timeout: float = 30.0):
        self.credentials = credentials
        self._scope = scope
        self._ssl = ssl_context
        self._timeout = timeout
        self._lock = threading.Lock()
        self._token: Optional[str] = None
        self._expiry = 0.0
        #: How many tokens were fetched (for the curious, and for tests).
        self.fetches = 0

    def token(self) -> str:
        """A valid access token, fetched anew when the last is about to expire."""
        with self._lock:
            if self._token is None or time.monotonic() >= self._expiry - REFRESH_BEFORE:
                self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        """Forgets the token: the next call fetches one."""
        with self._lock:
            self._token = None

    def _fetch(self) -> None:
        c = self.credentials
        form = {"grant_type": "client_credentials"}
        if self._scope:
            form["scope"] = self._scope
        basic = base64.b64encode(
            f"{urllib.parse.quote(c.client_id, safe='')}:{urllib.parse.quote(c.client_secret, safe='')}".encode()
        ).decode()
        req = urllib.request.Request(
            c.token_url, data=urllib.parse.urlencode(form).encode(), method="POST",
            headers={"Authorization": "Basic " + basic, "Content-Type": "application/x-www-form-urlencoded",
                     "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=self._timeout, context=self._ssl) as resp:
                body = json.load(resp)
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")
            raise AuthError(f"token from {c.token_url}: HTTP {e.code}: {detail}") from e
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise AuthError(f"token from {c.token_url}: {e}") from e
        tok = body.get("access_token")
        if not tok:
            raise AuthError(f"token from {c.token_url}: no access_token in the answer")
        self._token = tok
        self._expiry = time.monotonic() + float(body.get("expires_in") or 3600)
        self.fetches += 1


class StaticToken:
    """A raw token (``$CANOPY_TOKEN``), sent as is."""

    def __init__(self, token: str):
        self._token = token

    def token(self) -> str:
        return self._token

    def invalidate(self) -> None:
        pass


class _TokenPlugin(grpc.AuthMetadataPlugin):
    def __init__(self, source):
        self._source = source

    def __call__(self, context, callback):
        try:
            callback((("authorization", "Bearer " + self._source.token()),), None)
        except Exception as e:  # noqa: BLE001 - reported to the call
            callback((), e)


def call_credentials(source) -> grpc.CallCredentials:
    """gRPC call credentials sending ``source``'s token as a bearer token on
    every call (``source`` has a ``token()`` method: :class:`TokenSource`,
    :class:`StaticToken`)."""
    return grpc.metadata_call_credentials(_TokenPlugin(source), name="canopy-oauth2")
