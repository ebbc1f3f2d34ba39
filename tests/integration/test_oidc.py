"""Single sign-on against a real worker (issue 18): a county provider's token, verified with
the provider's published keys, lets the directory's person in with the directory's roles; any
token that does not verify is a 401.

The provider is stood in for by what a worker really talks to: an HTTP server on 127.0.0.1
publishing a JWKS, and tokens signed with its RSA key (PyJWT, the same library that verifies).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.harness import Broker, WorkerProcess, http_get, people_file

ISSUER, AUDIENCE = "https://sso.county.example.gov.cn/realms/county", "midfield"
PEOPLE = {"zhuren": (("director",), None, "a long password of his")}
pytestmark = pytest.mark.xdist_group("oidc")


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Provider:
    key: rsa.RSAPrivateKey
    kid: str
    jwks_url: str

    def token(self, key: Any = None, **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 300,
            "sub": str(uuid.uuid4()),
            "preferred_username": "zhuren",
        } | claims
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": self.kid})


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    key, kid = _rsa(), "county-2026"
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = json.dumps({"keys": [jwk | {"kid": kid, "use": "sig", "alg": "RS256"}]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(jwks)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Provider(key, kid, f"http://127.0.0.1:{server.server_port}/certs")
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def worker(
    own_broker: Broker, provider: Provider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    workdir = tmp_path_factory.mktemp("oidc")
    directory = people_file(workdir / "directory.toml", PEOPLE)
    with WorkerProcess(
        own_broker,
        workdir,
        app_id=f"oidc-{uuid.uuid4().hex[:6]}",
        env_extra={
            "MIDFIELD_DEPARTMENTS_FILE": str(directory),
            "MIDFIELD_ACCESS_OIDC_ISSUER": ISSUER,
            "MIDFIELD_ACCESS_OIDC_AUDIENCE": AUDIENCE,
            "MIDFIELD_ACCESS_OIDC_JWKS_URL": provider.jwks_url,
            "MIDFIELD_ACCESS_FAILED_CREDENTIALS": "1000",
        },
    ).running() as process:
        yield process


def test_a_verified_token_lets_the_directorys_person_in_with_its_roles(
    worker: WorkerProcess, provider: Provider
) -> None:
    token = provider.token()
    assert http_get(worker.url + "/audit", key=token)[0] == 200
    status, who = http_get(worker.url + "/whoami", key=token)
    assert (status, who["principal"], who["roles"]) == (200, "person:zhuren", ["director"])


def _forged(provider: Provider) -> dict[str, str]:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 300, "preferred_username": "zhuren"}
    public_pem = provider.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs256 = jwt.api_jws.PyJWS()
    hs256._algorithms["HS256"].prepare_key = lambda key: key  # type: ignore[method-assign]
    return {
        "expired": provider.token(exp=now - 3600, iat=now - 7200),
        "another audience": provider.token(aud="another-app"),
        "another issuer": provider.token(iss="https://evil.example/realms/county"),
        "signed by another key": provider.token(key=_rsa()),
        "no expiry": provider.token(exp=None),
        "someone not in the directory": provider.token(preferred_username="stranger"),
        "alg none": jwt.encode(claims, None, algorithm="none", headers={"kid": provider.kid}),
        "HS256 with the public key as secret": hs256.encode(
            json.dumps(claims).encode(),
            public_pem,
            algorithm="HS256",
            headers={"kid": provider.kid},
        ),
        "garbage in three parts": "aGVsbG8.d29ybGQ.c2ln",
    }


def test_a_token_that_does_not_verify_is_a_401(worker: WorkerProcess, provider: Provider) -> None:
    got = {name: http_get(worker.url + "/audit", key=t)[0] for name, t in _forged(provider).items()}
    assert got == dict.fromkeys(got, 401)
