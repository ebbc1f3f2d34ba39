"""The WeChat push protocol: the published signature vector, secure-mode AES, hostile XML."""

from __future__ import annotations

import base64
import contextlib
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.sources.wechat_protocol import (
    BadMessage,
    Hostile,
    SecureMode,
    message,
    signature,
    signature_matches,
)

AES_KEY = base64.b64encode(os.urandom(32)).decode().rstrip("=")  # 43 characters
XML = (
    "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oUser]]>"
    "</FromUserName><CreateTime>1714036504</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[请问学区怎么划分？]]></Content><MsgId>24601234567890123456</MsgId></xml>"
)


def test_the_published_signature_vector() -> None:
    assert signature("AAAAA", "1714036504", "1514711492") == (
        "f464b24fc39322e44b38aa78f5edd27bd1441696"
    )
    assert signature_matches(
        "F464B24FC39322E44B38AA78F5EDD27BD1441696", "AAAAA", "1714036504", "1514711492"
    )


def test_a_message_keeps_its_19_digit_msgid_as_text() -> None:
    pushed = message(XML.encode())
    assert (pushed.kind, pushed.dedupe_key) == ("text", "24601234567890123456")
    assert pushed.fields["Content"] == "请问学区怎么划分？"


def test_secure_mode_round_trip() -> None:
    mode = SecureMode(AES_KEY, "wx1234567890")
    encrypted = mode.encrypt(XML.encode(), os.urandom(16))
    assert mode.decrypt(encrypted) == XML.encode()


def test_a_message_for_another_account_is_refused() -> None:
    encrypted = SecureMode(AES_KEY, "wxOTHER").encrypt(XML.encode(), os.urandom(16))
    with pytest.raises(BadMessage) as caught:
        SecureMode(AES_KEY, "wx1234567890").decrypt(encrypted)
    assert caught.value.reason == "wrong-appid"


def test_bad_padding_is_refused() -> None:
    mode = SecureMode(AES_KEY, "wx1")
    data = bytearray(base64.b64decode(mode.encrypt(XML.encode(), os.urandom(16))))
    data[-1] ^= 0xFF  # the last block decrypts to garbage: its padding byte is wrong
    with pytest.raises(BadMessage) as caught:
        mode.decrypt(base64.b64encode(bytes(data)).decode())
    assert caught.value.reason in ("bad-padding", "wrong-appid")


@pytest.mark.parametrize(
    "xml",
    [
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        "<xml><Content>&e;</Content></xml>",
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
        '"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><xml><a>&lol2;</a></xml>',
        '<!DOCTYPE xml SYSTEM "http://127.0.0.1:1/evil.dtd"><xml/>',
    ],
)
def test_xml_with_a_dtd_or_entities_is_hostile(xml: str) -> None:
    with pytest.raises(Hostile):
        message(xml.encode())


@given(st.binary(max_size=300))
def test_any_body_is_a_message_or_a_bad_message(body: bytes) -> None:
    with contextlib.suppress(BadMessage):  # anything else fails the test
        message(body)


@given(st.text(max_size=200))
def test_any_ciphertext_is_xml_or_a_bad_message(text: str) -> None:
    with contextlib.suppress(BadMessage):  # anything else fails the test
        SecureMode(AES_KEY, "wx1").decrypt(text)
