"""The ``wechat`` source: the official account's message push (公众号消息推送), plain and secure.

``midfield connect wechat --port 8072`` serves ``GET``/``POST /wechat`` on 127.0.0.1 (put the
county's HTTPS proxy in front; docs/wechat.md). Every request is checked before anything else:
its ``signature`` (and in secure mode ``msg_signature``) must match the token, and its
``timestamp`` must be within ``MIDFIELD_WECHAT_MAX_SKEW_SECONDS`` of now — otherwise 403, so a
captured request cannot be replayed later. ``GET`` is the server check: it echoes ``echostr``.

The plain ``signature`` does not cover the body, so with an EncodingAESKey set a ``POST``
without ``encrypt_type=aes`` is refused (403 ``plain-mode-refused``): one captured signed URL
would otherwise carry any message. Each ``(timestamp, nonce)`` is remembered for the skew window
with a digest of its body: WeChat's retry (same query, same body) is answered as before, and
the same nonce with another body is a replay (403 ``replayed-nonce``).

``POST`` carries a message: text, image, voice, video, location, link — each becomes a
:class:`PublicMessageReceived` on ``office.intake.message.v1`` with the MsgId (a string: 19-digit
ids exceed 2^53) as its id; the sender's OpenID only as a salted digest. Events (subscribe,
unsubscribe, CLICK, VIEW, SCAN) are acknowledged and counted, not produced: they are no
messages to answer. The answer ``success`` is given only once the broker has the event, and
within 5 s (WeChat retries three times otherwise); a retry is the same event id (MsgId, or
sender + time for events), applied once. XML with a DTD or entities (XXE, billion laughs) is
refused with 400 and nothing is produced or kept; other unreadable bodies: 400 and a dead letter
that keeps the sender's OpenID only as a keyed digest (connectors/runtime/privacy.py).
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from typing import Any, ClassVar, Unpack

from aiohttp import web
from pydantic import Field, PositiveInt, SecretStr
from pydantic_settings import BaseSettings

from connectors.runtime.deployment import Deployment
from connectors.runtime.guard import SIGNED, allow
from connectors.runtime.http import HttpSource, HttpSourceOptions
from connectors.runtime.intake import Intake
from connectors.runtime.privacy import Kept, Redactor
from connectors.runtime.signatures import ReplayCache, Seen
from connectors.runtime.source import Place, at_office
from connectors.sources.wechat_protocol import (
    BadMessage,
    Hostile,
    SecureMode,
    WechatMessage,
    message,
    signature_matches,
)
from midfield import metrics
from midfield.errors import ConfigError, Rejected
from midfield.logging import get_logger
from midfield.settings import Settings, settings_config, settings_part
from schemas.envelope import Envelope
from schemas.events.message import MessageChannel, PublicMessageReceived

__all__ = ["WechatOptions", "WechatSettings", "WechatSource"]

log = get_logger(__name__)

ANSWER_WITHIN_S = 4.5
"""WeChat waits 5 s for ``success``; the broker gets what is left after parsing."""
MSGID_DIGITS = 20
"""WeChat's MsgId is a 64-bit number (up to 20 digits); the message id is it after "wx-"."""

_DESCRIBED = {
    "image": lambda f: f"[图片] {f.get('PicUrl', '')}",
    "voice": lambda f: f"[语音] {f.get('Recognition', '') or f.get('MediaId', '')}",
    "video": lambda f: f"[视频] {f.get('MediaId', '')}",
    "shortvideo": lambda f: f"[小视频] {f.get('MediaId', '')}",
    "location": lambda f: (
        f"[位置] {f.get('Label', '')} ({f.get('Location_X')}, {f.get('Location_Y')})"
    ),
    "link": lambda f: f"[链接] {f.get('Title', '')} {f.get('Url', '')}",
}


@settings_part
class WechatSettings(BaseSettings):
    """The WeChat official account's push (docs/wechat.md); values from the account's console."""

    model_config = settings_config("MIDFIELD_WECHAT_")

    token: SecretStr = Field(SecretStr(""), description="The push Token.")
    appid: str = Field("", description="The account's AppID (secure mode checks it).")
    encoding_aes_key: SecretStr = Field(
        SecretStr(""), description="EncodingAESKey (43 characters) for secure mode."
    )
    max_skew_seconds: PositiveInt = Field(
        300, description="Requests whose timestamp is further from now are refused (replays)."
    )
    submitter_salt: SecretStr = Field(
        SecretStr(""), description="Salt for the sender's OpenID digest (default: the token)."
    )


class WechatOptions(HttpSourceOptions):
    port: int = Field(8072, ge=0, le=65535, description="Port to listen on.")
    max_body_bytes: int = Field(
        64 * 1024, ge=1024, description="Larger request bodies are refused with 413."
    )


class WechatSource(HttpSource):
    """Serve the WeChat official account's push endpoint (see docs/wechat.md)."""

    name: ClassVar[str] = "wechat"
    options = WechatOptions
    settings_model = WechatSettings
    deployment = Deployment(
        note="The WeChat official account's push: public messages.",
        writes=(PublicMessageReceived.topic,),
        port=8072,
        secrets=True,
    )

    def __init__(self, *, rules: WechatSettings, **place: Unpack[Place]) -> None:
        super().__init__(**place)
        if not rules.token.get_secret_value():
            raise ConfigError("MIDFIELD_WECHAT_TOKEN is not set", reason="wechat-token")
        self.rules = rules
        self.token = rules.token.get_secret_value()
        aes = rules.encoding_aes_key.get_secret_value()
        self.secure = SecureMode(aes, rules.appid) if aes else None
        self.nonces = ReplayCache()
        salt = rules.submitter_salt.get_secret_value() or self.token
        self._salt = salt.encode()

    @classmethod
    def from_options(cls, options: Any, settings: Settings) -> WechatSource:
        try:
            return cls(rules=settings.part(WechatSettings), **at_office(options.instance, settings))
        except ValueError as exc:
            raise ConfigError(f"WeChat settings: {exc}", reason="wechat-settings") from exc

    def routes(self, intake: Intake) -> list[web.RouteDef]:
        return [
            allow(SIGNED, web.get("/wechat", self._check)),
            allow(SIGNED, web.post("/wechat", self._handler(intake))),
        ]

    # -- the request's credentials -------------------------------------------------------------
    def _verified(self, request: web.Request) -> tuple[str, str]:
        query = request.query
        stamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        if not signature_matches(query.get("signature", ""), self.token, stamp, nonce):
            raise Rejected("signature does not match", reason="bad-signature", status=403)
        try:
            skew = abs(self.clock().timestamp() - int(stamp))
        except ValueError as exc:
            raise Rejected("timestamp is not a number", reason="bad-timestamp", status=403) from exc
        if skew > self.rules.max_skew_seconds:
            raise Rejected(f"timestamp {skew:.0f} s from now", reason="stale-timestamp", status=403)
        return stamp, nonce

    async def _check(self, request: web.Request) -> web.Response:
        self._verified(request)
        return web.Response(text=request.query.get("echostr", ""))

    # -- a pushed message ------------------------------------------------------------------------
    def _handler(self, intake: Intake) -> Any:
        async def handle(request: web.Request) -> web.Response:
            started = time.monotonic()
            stamp, nonce = self._verified(request)
            raw = await request.read()
            try:
                pushed = self._open(raw, request, stamp, nonce)
                envelope = self._event(pushed)
            except Hostile as exc:
                metrics.REFUSED.labels(exc.reason, self.name).inc()  # nothing kept: no letter
                log.warning("hostile XML refused", reason=exc.reason)
                raise Rejected(str(exc), reason=exc.reason, status=400) from exc
            except BadMessage as exc:
                raise await intake.refused(raw, exc, "POST /wechat", status=400) from exc
            if envelope is None:
                metrics.SKIPPED.labels(f"event-{pushed.fields.get('Event', '')}", self.name).inc()
                return web.Response(text="success")
            left = ANSWER_WITHIN_S - (time.monotonic() - started)
            await intake.publish(envelope, within_s=max(left, 0.5))
            return web.Response(text="success")

        return handle

    def _open(self, raw: bytes, request: web.Request, stamp: str, nonce: str) -> WechatMessage:
        """The pushed message, once the request is authenticated as far as its mode allows."""
        if request.query.get("encrypt_type") != "aes":
            if self.secure is not None:
                raise _refused(request, "plain mode is refused: this account pushes in secure "
                               "mode (encrypt_type=aes)", "plain-mode-refused")  # fmt: skip
            self._remember(request, stamp, nonce, raw)
            return message(raw)
        if self.secure is None:
            raise BadMessage("no-aes-key", "secure mode without MIDFIELD_WECHAT_ENCODING_AES_KEY")
        encrypted = message(raw).fields.get("Encrypt", "")
        if not signature_matches(
            request.query.get("msg_signature", ""), self.token, stamp, nonce, encrypted
        ):
            raise Rejected("msg_signature does not match", reason="bad-signature", status=403)
        self._remember(request, stamp, nonce, raw)
        return message(self.secure.decrypt(encrypted))

    def _remember(self, request: web.Request, stamp: str, nonce: str, raw: bytes) -> None:
        """Remember the nonce with the body; the same nonce with another body is refused."""
        now = self.clock().timestamp()
        expires = int(stamp) + self.rules.max_skew_seconds
        if self.nonces.see(f"{stamp}/{nonce}", raw, expires=expires, now=now) is Seen.replay:
            raise _refused(request, "this timestamp and nonce came with another body",
                           "replayed-nonce")  # fmt: skip

    def redacted(self, raw: bytes, redactor: Redactor) -> Kept:
        """A dead letter keeps the XML's fields as JSON, the OpenID and ciphertext digested."""
        try:
            return redactor.flat_fields(message(raw).fields)
        except BadMessage:
            return Kept(b"", "withheld")

    def _event(self, pushed: WechatMessage) -> Envelope | None:
        """The event a pushed message makes; ``None`` for account events (no message)."""
        fields = pushed.fields
        if pushed.kind == "event":
            return None
        key = pushed.dedupe_key
        if not key:
            raise Rejected("a message without MsgId", reason="no-msgid", status=400)
        if not (key.isascii() and key.isdigit() and len(key) <= MSGID_DIGITS):
            raise BadMessage("bad-msgid", f"MsgId is a number of at most {MSGID_DIGITS} digits")
        content = fields.get("Content", "") if pushed.kind == "text" else _describe(pushed)
        event = PublicMessageReceived(
            message_id=f"wx-{key}",
            channel=MessageChannel.wechat,
            content=content[:20_000],
            submitter=self._digest(fields.get("FromUserName", "")),
        )
        try:
            sent = datetime.fromtimestamp(int(fields.get("CreateTime", "")), self.zone)
        except (ValueError, OverflowError, OSError):  # not a number, or no date a clock can hold
            sent = self.clock()
        return self.envelope(event, position=f"msg/{key}", subject=f"wx-{key}", time=sent)

    def _digest(self, openid: str) -> str:
        return "sha256:" + hashlib.sha256(self._salt + openid.encode()).hexdigest()


def _refused(request: web.Request, why: str, reason: str) -> Rejected:
    """403, logged for the audit (where from, why; never the body)."""
    log.warning("wechat request refused", reason=reason, remote=request.remote)
    return Rejected(why, reason=reason, status=403)


def _describe(pushed: WechatMessage) -> str:
    describe = _DESCRIBED.get(pushed.kind)
    return describe(pushed.fields) if describe else f"[{pushed.kind}]"
