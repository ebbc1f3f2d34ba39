"""What ``midfield demo`` sends through each intake besides faxes and tasks: a call and an
emergency to the duty API, a clean and a classified telegram to the drop directory, a WeChat
message, a board message with its reply, and a hotline work order — each the way the real
sender would (signed, over HTTP, or as files)."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from standardwebhooks.webhooks import Webhook

from connectors.sources.wechat_protocol import signature

__all__ = ["DemoSecrets", "Endpoints", "feed", "post"]


@dataclass(frozen=True)
class DemoSecrets:
    office_key: str = "demo-office-key-not-for-production"
    board: str = "whsec_" + base64.b64encode(b"demo-board-secret").decode()
    hotline: str = "whsec_" + base64.b64encode(b"demo-hotline-secret").decode()
    wechat_token: str = "demo-wechat-token"

    def env(self) -> dict[str, str]:
        return {
            "MIDFIELD_BOARD_SECRET": self.board,
            "MIDFIELD_HOTLINE_SECRET": self.hotline,
            "MIDFIELD_WECHAT_TOKEN": self.wechat_token,
        }


@dataclass(frozen=True)
class Endpoints:
    duty: str
    board: str
    hotline: str
    wechat: str
    telegrams: Path


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST ``body`` (JSON unless ``headers`` say otherwise); the answer's status, 0 when
    nothing answered."""
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"} | headers
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0


def _json(body: dict[str, object]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


def _signed(secret: str, msg_id: str, body: bytes) -> dict[str, str]:
    """Standard Webhooks headers, as the board's system and the hotline platform sign."""
    now = datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body.decode()),
    }


def feed(at: Endpoints, secrets: DemoSecrets, now: datetime) -> dict[str, int]:
    """Send the samples; answers the HTTP status of each (0: nothing answered)."""
    office = {"Authorization": f"Bearer {secrets.office_key}"}
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S")
    results = {
        "duty call": post(
            f"{at.duty}/duty/entries",
            _json(
                {
                    "kind": "call",
                    "unit": "城关镇人民政府",
                    "person": "张伟",
                    "phone": "0551-6234567",
                    "content": "东街供水管道爆裂，已组织抢修",
                    "recorder": "值班员李华",
                    "time": stamp,
                }
            ),
            office,
        ),
        "emergency": post(
            f"{at.duty}/duty/emergencies",
            _json(
                {
                    "report_id": "EM-DEMO-1",
                    "title": "城东片区内涝",
                    "unit": "县应急管理局",
                    "content": "积水约 50 厘米，已转移群众 12 人",
                    "recorder": "值班员李华",
                    "time": stamp,
                }
            ),
            office,
        ),
    }
    board = _json(
        {
            "id": "DEMO-0042",
            "category": "咨询",
            "title": "学区划分咨询",
            "content": "请问今年城区小学学区如何划分？",
            "contact": "13800138000",
            "department": "edu",
            "received_at": (now - timedelta(days=40)).isoformat(),
        }
    )
    results["board message"] = post(
        f"{at.board}/board/messages", board, _signed(secrets.board, "msg_demo_board_1", board)
    )
    steps: list[dict[str, object]] = [
        {
            "order_number": "12345-DEMO-7",
            "step": "accepted",
            "category": "help",
            "note": "城东路路灯不亮",
            "time": stamp,
        },
        {"order_number": "12345-DEMO-7", "step": "dispatched", "units": ["housing"], "time": stamp},
    ]
    for n, step in enumerate(steps):
        body = _json(step)
        results[f"hotline step {n + 1}"] = post(
            f"{at.hotline}/hotline/steps",
            body,
            _signed(secrets.hotline, f"msg_demo_hotline_{n + 1}", body),
        )
    results["wechat"] = _wechat(at.wechat, secrets.wechat_token)
    _telegrams(at.telegrams, now)
    return results


def _wechat(url: str, token: str) -> int:
    stamp, nonce = str(int(time.time())), "20250620"
    query = urllib.parse.urlencode(
        {"timestamp": stamp, "nonce": nonce, "signature": signature(token, stamp, nonce)}
    )
    xml = (
        f"<xml><ToUserName><![CDATA[gh_demo]]></ToUserName><FromUserName><![CDATA[oDemoUser]]>"
        f"</FromUserName><CreateTime>{stamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[小区门口垃圾堆放多日无人清运]]></Content>"
        "<MsgId>24601234567890123456</MsgId></xml>"
    ).encode()
    return post(f"{url}/wechat?{query}", xml, {"Content-Type": "text/xml"})


def _telegrams(directory: Path, now: datetime) -> None:
    """A clean telegram and a classified one (withheld by the guard), PDF first, sheet last."""
    sheets = {
        "clean": {
            "部门号": f"×政办明电〔{now.year}〕12号",
            "发电单位": "×市人民政府办公室",
            "等级": "特急",
            "标题": "关于做好近期防汛工作的紧急通知",
            "页数": 2,
        },
        "classified": {
            "部门号": f"×政办明电〔{now.year}〕13号",
            "发电单位": "×市人民政府办公室",
            "等级": "特提",
            "标题": "（样例）不应出现在总线上的标题",
            "密级": "机密",
            "页数": 1,
        },
    }
    for name, sheet in sheets.items():
        (directory / f"{name}.pdf").write_bytes(b"%PDF-1.4\n% demo telegram\n")
        staging = directory / f".{name}.json.part"
        staging.write_text(json.dumps(sheet, ensure_ascii=False), encoding="utf-8")
        staging.rename(directory / f"{name}.json")
