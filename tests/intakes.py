"""What the public intakes' tests share: one set of test credentials (the board's and the
hotline's Standard Webhooks secrets, the WeChat account's token, appid and EncodingAESKey; see
docs/board.md, docs/hotline.md, docs/wechat.md), the environment giving all of them to
``midfield connect``, WeChat's secure-mode request, and an export imported twice."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from connectors.sources.wechat_protocol import SecureMode, signature
from tests.harness import Broker, midfield_env, run_cli
from tests.webhooks import whsec

__all__ = [
    "BOARD_SECRET",
    "HOTLINE_SECRET",
    "INTAKE_SECRETS",
    "WECHAT_AES_KEY",
    "WECHAT_APPID",
    "WECHAT_SECRETS",
    "WECHAT_TOKEN",
    "import_twice",
    "intake_env",
    "wechat_secure",
]

BOARD_SECRET = whsec("board-shared-secret")
HOTLINE_SECRET = whsec("hotline-shared-secret")
WECHAT_TOKEN, WECHAT_APPID = "AAAAA", "wx5823bf96d3bd56c7"
WECHAT_AES_KEY = base64.b64encode(b"midfield-test-aes-key-32-bytes!!").decode().rstrip("=")

WECHAT_SECRETS = {
    "MIDFIELD_WECHAT_TOKEN": WECHAT_TOKEN,
    "MIDFIELD_WECHAT_APPID": WECHAT_APPID,
    "MIDFIELD_WECHAT_ENCODING_AES_KEY": WECHAT_AES_KEY,
}
INTAKE_SECRETS = WECHAT_SECRETS | {
    "MIDFIELD_BOARD_SECRET": BOARD_SECRET,
    "MIDFIELD_HOTLINE_SECRET": HOTLINE_SECRET,
}


def intake_env(broker: Broker, workdir: Path, directory: Path, **extra: str) -> dict[str, str]:
    """:func:`~tests.harness.midfield_env` for the public intakes: every intake's credentials,
    the departments file ``directory``, ``extra`` on top."""
    given = INTAKE_SECRETS | {"MIDFIELD_DEPARTMENTS_FILE": str(directory)}
    return midfield_env(broker, workdir, **(given | extra))


def wechat_secure(xml: bytes, query: dict[str, str]) -> tuple[dict[str, str], bytes]:
    """The query and body WeChat sends for ``xml`` in secure mode (an account with an
    EncodingAESKey), ``query`` being its signed ``timestamp``, ``nonce`` and ``signature``: the
    same ``xml`` and ``query`` again are byte for byte the same request (WeChat's retry)."""
    cipher = SecureMode(WECHAT_AES_KEY, WECHAT_APPID)
    encrypted = cipher.encrypt(xml, hashlib.sha256(xml).digest()[:16])
    msg_signature = signature(WECHAT_TOKEN, query["timestamp"], query["nonce"], encrypted)
    body = f"<xml><ToUserName>gh_office</ToUserName><Encrypt>{encrypted}</Encrypt></xml>"
    return query | {"encrypt_type": "aes", "msg_signature": msg_signature}, body.encode()


def import_twice(source: str, export: Path, instance: str, env: dict[str, str], cwd: Path) -> None:
    """``midfield connect SOURCE --xlsx EXPORT --once`` twice, the second time from a fresh state
    directory: the same rows read again as if the import's position had been lost."""
    args = ["connect", source, "--xlsx", str(export), "--instance", instance, "--once"]
    run_cli(args, env, cwd=cwd)
    run_cli(args, env | {"MIDFIELD_CONNECT_STATE_DIR": str(cwd / "fresh")}, cwd=cwd)
