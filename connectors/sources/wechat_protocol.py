"""The WeChat official-account push protocol, pure: signatures, secure-mode AES, message XML.

Sources: the official account message push guide (消息加解密说明) and NOTES.md. A request's
``signature`` is the SHA1 hex of the sorted, joined [token, timestamp, nonce]; in secure mode
(``encrypt_type=aes``) ``msg_signature`` also covers the ``Encrypt`` text. Secure mode is
AES-256-CBC with key = base64(EncodingAESKey + "="), IV = key[:16], PKCS#7 padded to 32-byte
blocks; the plaintext is 16 random bytes, the XML's length (4 bytes, big-endian), the XML, and
the AppID. XML is parsed with defusedxml: a DTD, an entity or an external reference is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass
from xml.etree.ElementTree import ParseError as XmlError

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from connectors.runtime.signatures import same_secret
from midfield.errors import ParseError

__all__ = [
    "BadMessage",
    "Hostile",
    "SecureMode",
    "WechatMessage",
    "message",
    "signature",
    "signature_matches",
]

_BLOCK = 32


class BadMessage(ParseError):
    """Not a message we can read; ``reason`` is the dead-letter category."""


class Hostile(BadMessage):
    """XML with a DTD, entities or external references: refused, and nothing kept of it."""


def signature(*parts: str) -> str:
    joined = "".join(sorted(parts)).encode("utf-8", "surrogatepass")  # any query text
    return hashlib.sha1(joined).hexdigest()


def signature_matches(given: str, *parts: str) -> bool:
    """Constant time, on bytes: a ``signature`` that is not ASCII is a mismatch, not a 500."""
    return same_secret(given.lower(), signature(*parts))


@dataclass(frozen=True)
class WechatMessage:
    """The fields of a pushed message or event (all text, as WeChat sends them)."""

    fields: dict[str, str]

    @property
    def kind(self) -> str:
        return self.fields.get("MsgType", "")

    @property
    def dedupe_key(self) -> str:
        """MsgId for messages (a string: 19-digit ids exceed 2^53); sender + time for events."""
        if self.kind == "event":
            return f"{self.fields.get('FromUserName', '')}/{self.fields.get('CreateTime', '')}"
        return self.fields.get("MsgId", "")


def message(xml: bytes) -> WechatMessage:
    """The message in ``xml`` (a flat ``<xml>`` of CDATA or text elements)."""
    try:
        root = fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise Hostile("hostile-xml", type(exc).__name__) from exc
    except (XmlError, ValueError, LookupError) as exc:  # LookupError: an unknown encoding=
        raise BadMessage("bad-xml", str(exc)[:200]) from exc
    if root.tag != "xml":
        raise BadMessage("bad-xml", f"root element <{root.tag}>, not <xml>")
    return WechatMessage({child.tag: (child.text or "").strip() for child in root})


class SecureMode:
    """AES for ``encrypt_type=aes``: decrypt (and, for tests and replies, encrypt)."""

    def __init__(self, encoding_aes_key: str, appid: str) -> None:
        try:
            self.key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error as exc:
            raise ValueError("EncodingAESKey is not base64") from exc
        if len(self.key) != 32:
            raise ValueError("EncodingAESKey must be 43 characters (32 bytes)")
        self.appid = appid

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def decrypt(self, encrypted: str) -> bytes:
        """The XML inside ``encrypted`` (base64); :class:`BadMessage` for anything wrong."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except ValueError as exc:  # binascii.Error, or text that is not ASCII
            raise BadMessage("bad-encrypt", "Encrypt is not base64") from exc
        if not data or len(data) % 16:
            raise BadMessage("bad-encrypt", "ciphertext is not whole AES blocks")
        decryptor = self._cipher().decryptor()
        plain = _unpad(decryptor.update(data) + decryptor.finalize())
        if len(plain) < 20:
            raise BadMessage("bad-encrypt", "plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        xml, appid = plain[20 : 20 + length], plain[20 + length :]
        if len(xml) != length or appid.decode("utf-8", "replace") != self.appid:
            raise BadMessage("wrong-appid", "the message is not for this account")
        return xml

    def encrypt(self, xml: bytes, random16: bytes) -> str:
        plain = random16 + struct.pack(">I", len(xml)) + xml + self.appid.encode()
        pad = _BLOCK - len(plain) % _BLOCK
        encryptor = self._cipher().encryptor()
        data = encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()
        return base64.b64encode(data).decode()


def _unpad(data: bytes) -> bytes:
    pad = data[-1]
    if not 1 <= pad <= _BLOCK or data[-pad:] != bytes([pad]) * pad:
        raise BadMessage("bad-padding", "PKCS#7 padding is wrong")
    return data[:-pad]
