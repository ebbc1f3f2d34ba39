"""WeChat push against a real ``midfield connect wechat`` on 127.0.0.1 and a real broker: signed
requests, secure mode (plain mode refused while an EncodingAESKey is set), replays and stale
requests refused, XXE refused with nothing produced, retries applied once (also the retry of a
request answered 503), no ``success`` while the broker cannot take the message, and dead letters
that keep no OpenID in clear."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from connectors.sources.wechat_protocol import SecureMode, signature
from midfield.broker import EmbeddedBroker, free_port
from midfield.bus.topics import create_topics
from midfield.settings import KafkaSettings, TopicSettings
from tests.harness import (
    SCRAPE_TOKEN,
    Broker,
    dead_letters,
    midfield_env,
    read_topic,
    scrape,
    serving,
    wait_for,
)
from tests.intakes import (
    WECHAT_AES_KEY,
    WECHAT_APPID,
    WECHAT_SECRETS,
    WECHAT_TOKEN,
    wechat_secure,
)

TOPIC = "office.intake.message.v1"


def _xml(msg_id: str, content: str = "请问今年学区怎么划分？") -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[gh_office]]></ToUserName><FromUserName><![CDATA[oU{msg_id}]]>"
        f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]>"
        f"</MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    ).encode()


def _query(stamp: int | None = None, **extra: str) -> dict[str, str]:
    """A signed query with a nonce of its own (WeChat's retry sends the same query again)."""
    stamp_text, nonce = str(stamp or int(time.time())), str(uuid.uuid4().int % 10**10)
    return {
        "timestamp": stamp_text,
        "nonce": nonce,
        "signature": signature(WECHAT_TOKEN, stamp_text, nonce),
    } | extra


def _post(url: str, body: bytes, query: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(
        f"{url}/wechat?{urllib.parse.urlencode(query)}",
        data=body,
        method="POST",
        headers={"Content-Type": "text/xml"},
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _push(url: str, xml: bytes, query: dict[str, str] | None = None) -> tuple[int, str]:
    """POST ``xml`` in secure mode, as WeChat does for an account with an EncodingAESKey; the
    same ``xml`` and ``query`` again is byte for byte the same request (WeChat's retry)."""
    query, body = wechat_secure(xml, query or _query())
    return _post(url, body, query)


def _serve(broker: Broker, workdir: Path, **extra: str) -> AbstractContextManager[str]:
    """``midfield connect wechat`` with the account's token, appid and key (``extra`` on top)."""
    env = midfield_env(broker, workdir, **(WECHAT_SECRETS | extra))
    return serving("wechat", env, cwd=workdir)


@pytest.fixture
def wechat(catalog_topics: Broker, workdir: Path) -> Iterator[str]:
    with _serve(catalog_topics, workdir) as url:
        yield url


def _ids(broker: Broker, msg_id: str) -> list[bytes]:
    return [
        r.headers["ce_id"] for r in read_topic(broker, TOPIC) if r.key == f"wx-{msg_id}".encode()
    ]


def test_server_check_echoes_echostr_for_the_published_vector(wechat: str) -> None:
    query = {
        "signature": "f464b24fc39322e44b38aa78f5edd27bd1441696",
        "timestamp": "1714036504",
        "nonce": "1514711492",
        "echostr": "hello",
    }
    with pytest.raises(urllib.error.HTTPError) as stale:  # a 2024 timestamp is far too old now
        urllib.request.urlopen(f"{wechat}/wechat?{urllib.parse.urlencode(query)}", timeout=5)
    assert stale.value.code == 403
    fresh = _query(echostr="hello")
    with urllib.request.urlopen(f"{wechat}/wechat?{urllib.parse.urlencode(fresh)}", timeout=5) as r:
        assert r.read() == b"hello"


def test_a_text_message_is_an_event_and_its_retry_is_the_same_event(
    wechat: str, catalog_topics: Broker, unique: str
) -> None:
    msg_id = f"246{int(unique, 16) % 10**16:016d}"  # 19 digits, over 2^53
    body, query = _xml(msg_id), _query()
    assert _push(wechat, body, query) == (200, "success")
    assert _push(wechat, body, query) == (200, "success")  # WeChat's retry
    ids = _ids(catalog_topics, msg_id)
    assert len(set(ids)) == 1
    [record] = [r for r in read_topic(catalog_topics, TOPIC) if r.key == f"wx-{msg_id}".encode()][
        :1
    ]
    data = json.loads(record.value)
    assert (data["message_id"], data["channel"], data["content"]) == (
        f"wx-{msg_id}",
        "wechat",
        "请问今年学区怎么划分？",
    )
    assert data["submitter"].startswith("sha256:") and f"oU{msg_id}" not in record.value.decode()


def test_secure_mode_round_trip(wechat: str, catalog_topics: Broker, unique: str) -> None:
    msg_id = f"247{int(unique, 16) % 10**16:016d}"
    encrypted = SecureMode(WECHAT_AES_KEY, WECHAT_APPID).encrypt(
        _xml(msg_id, "加密留言"), os.urandom(16)
    )
    query = _query(encrypt_type="aes")
    query["msg_signature"] = signature(WECHAT_TOKEN, query["timestamp"], query["nonce"], encrypted)
    body = (
        f"<xml><ToUserName>gh_office</ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    )
    assert _post(wechat, body.encode(), query) == (200, "success")
    assert len(_ids(catalog_topics, msg_id)) == 1
    query["msg_signature"] = "0" * 40
    assert _post(wechat, body.encode(), query)[0] == 403


def test_bad_signature_stale_timestamp_and_xxe_are_refused_with_nothing_produced(
    wechat: str, catalog_topics: Broker, unique: str
) -> None:
    msg_id = f"248{int(unique, 16) % 10**16:016d}"
    assert _push(wechat, _xml(msg_id), _query() | {"signature": "0" * 40})[0] == 403
    assert _push(wechat, _xml(msg_id), _query(stamp=int(time.time()) - 3600))[0] == 403
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        f"<xml><MsgType>text</MsgType><Content>&e;</Content><MsgId>{msg_id}</MsgId></xml>"
    )
    status, body = _push(wechat, xxe.encode())
    assert (status, json.loads(body)["error"]) == (400, "hostile-xml")
    assert _ids(catalog_topics, msg_id) == []
    assert all(
        b"/etc/passwd" not in r.value for r in read_topic(catalog_topics, "office.deadletter.v1")
    )


def test_no_success_while_the_broker_hangs_and_nothing_lost_after(
    workdir: Path, unique: str
) -> None:
    port = free_port()
    private = Broker(f"127.0.0.1:{port}", "embedded", "embedded")
    msg_id = f"249{int(unique, 16) % 10**16:016d}"
    with EmbeddedBroker(workdir / "broker").running(port=port) as status:
        create_topics(KafkaSettings(bootstrap_servers=private.bootstrap), TopicSettings())
        with _serve(private, workdir, MIDFIELD_KAFKA_REQUEST_TIMEOUT_MS="2000") as url:
            os.kill(status.pid, signal.SIGSTOP)
            xml, query = _xml(msg_id), _query()
            try:
                answer = _push(url, xml, query)
                assert answer[0] == 503 and answer[1] != "success"
            finally:
                os.kill(status.pid, signal.SIGCONT)
            wait_for(  # WeChat's retry of the request answered 503: same query, same body
                lambda: _push(url, xml, query) == (200, "success"),
                timeout=60,
                what="success once the broker is back",
            )
            assert len(set(_ids(private, msg_id))) == 1


def test_plain_mode_is_refused_while_an_aes_key_is_set(
    wechat: str, catalog_topics: Broker, unique: str
) -> None:
    msg_id = f"250{int(unique, 16) % 10**16:016d}"
    status, body = _post(wechat, _xml(msg_id), _query())
    assert (status, json.loads(body)["error"]) == (403, "plain-mode-refused")
    assert _ids(catalog_topics, msg_id) == []


def test_a_nonce_used_again_with_another_body_is_a_replay(
    wechat: str, catalog_topics: Broker, unique: str
) -> None:
    first, second = (f"25{n}{int(unique, 16) % 10**16:016d}" for n in (1, 2))
    query = _query()
    assert _push(wechat, _xml(first), query) == (200, "success")
    status, body = _push(wechat, _xml(second), query)
    assert (status, json.loads(body)["error"]) == (403, "replayed-nonce")
    assert _ids(catalog_topics, second) == []


def test_a_signature_that_is_not_ascii_is_refused_not_a_500(wechat: str) -> None:
    status, body = _push(wechat, _xml("253"), _query() | {"signature": "中"})
    assert (status, json.loads(body)["error"]) == (403, "bad-signature")


def test_a_dead_letter_keeps_no_openid_in_clear(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    """Plain mode (no EncodingAESKey): an unreadable body is kept only as its size and keyed
    digest, a readable one that cannot be a message with the OpenID digested."""
    key = f"privacy-{unique}"
    openid = f"oPrivate{unique}"
    broken = f"<xml><FromUserName>{openid}</FromUserName><MsgType>text".encode()
    readable = f"<xml><FromUserName>{openid}</FromUserName><Encrypt>x</Encrypt></xml>".encode()
    with _serve(
        catalog_topics, workdir, MIDFIELD_WECHAT_ENCODING_AES_KEY="", MIDFIELD_PRIVACY_KEY=key
    ) as url:
        assert _post(url, broken, _query())[0] == 400
        assert _post(url, readable, _query(encrypt_type="aes"))[0] == 400
    digests = {hmac.new(key.encode(), b, hashlib.sha256).hexdigest() for b in (broken, readable)}
    letters = dead_letters(catalog_topics)
    kept = {d.redaction: d.model_dump_json().encode() for d in letters if d.raw_sha256 in digests}
    assert set(kept) == {"withheld", "fields"}
    assert all(openid.encode() not in value for value in kept.values())
    assert b"hmac-sha256:" in kept["fields"]


def _metrics_text(url: str) -> str:
    request = urllib.request.Request(
        f"{url}/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=5) as resp:
        text: str = resp.read().decode()
    return text


def test_hostile_xml_is_counted_as_refused_not_as_a_dead_letter(wechat: str, unique: str) -> None:
    """Hostile XML is answered 400 and nothing is written, so no dead letter may be counted."""
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        f"<xml><MsgType>text</MsgType><Content>&e;</Content><MsgId>9{unique}</MsgId></xml>"
    )
    assert _push(wechat, xxe.encode())[0] == 400
    samples = scrape(wechat + "/metrics")
    refused = (("connector", "wechat"), ("reason", "hostile-xml"))
    assert samples[("midfield_requests_refused_total", refused)] == 1
    assert ("midfield_dead_letters_total", refused) not in samples


def test_metrics_say_why_an_account_event_produces_nothing(wechat: str) -> None:
    subscribe = (
        "<xml><ToUserName><![CDATA[gh_office]]></ToUserName><FromUserName><![CDATA[oUfan]]>"
        f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]>"
        "</MsgType><Event><![CDATA[subscribe]]></Event></xml>"
    ).encode()
    assert _push(wechat, subscribe) == (200, "success")
    text = _metrics_text(wechat)
    [help_line] = [
        ln for ln in text.splitlines() if ln.startswith("# HELP midfield_records_skipped_total ")
    ]
    assert "account events" in help_line and "no message" in help_line
    assert 'midfield_records_skipped_total{connector="wechat",reason="event-subscribe"} 1.0' in text
