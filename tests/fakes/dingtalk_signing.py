"""Build genuinely signed DingTalk requests for tests: nothing here patches verification out.

* robot callbacks: ``timestamp``/``sign`` headers with the documented HMAC-SHA256;
* robot message and card-click bodies shaped like DingTalk's documented ones;
* encrypted event-subscription bodies made with dingtalk-sdk's ``DingTalkCrypto``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import string
import time
from typing import Any

from dingtalk.crypto import DingTalkCrypto


def now_ms() -> int:
    """Epoch milliseconds."""
    return time.time_ns() // 1_000_000


def sign(timestamp: str, secret: str) -> str:
    """base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")), written independently of the bot."""
    mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def signed_headers(secret: str, timestamp_ms: int | None = None) -> dict[str, str]:
    """The headers DingTalk puts on a robot callback."""
    timestamp = str(now_ms() if timestamp_ms is None else timestamp_ms)
    return {
        "timestamp": timestamp,
        "sign": sign(timestamp, secret),
        "Content-Type": "application/json; charset=utf-8",
    }


def robot_message(
    text: str = " /下单 客户A 10件",
    *,
    msg_id: str = "msgABC==",
    group: bool = True,
    staff_id: str = "manager01",
    session_webhook: str = "http://127.0.0.1:9/robot/sendBySession?session=s1",
    expires_ms: int | None = None,
    conversation_id: str = "cidGROUP1==",
) -> dict[str, Any]:
    """A robot message body as DingTalk sends it (HTTP mode) or streams it (``data``)."""
    created = now_ms()
    return {
        "msgtype": "text",
        "text": {"content": text},
        "msgId": msg_id,
        "createAt": created,
        "conversationType": "2" if group else "1",
        "conversationId": conversation_id,
        "conversationTitle": "销售一组" if group else "",
        "senderId": "$:LWCP_v1:$abc",
        "senderNick": "王经理",
        "senderCorpId": "dingcorp1",
        "senderStaffId": staff_id,
        "chatbotCorpId": "dingcorp1",
        "chatbotUserId": "$:LWCP_v1:$bot",
        "robotCode": "dingappkey",
        "sessionWebhook": session_webhook,
        "sessionWebhookExpiredTime": created + 5_400_000 if expires_ms is None else expires_ms,
        "isAdmin": False,
        "isInAtList": True,
        "atUsers": [{"dingtalkId": "$:LWCP_v1:$bot"}],
        "unknownFutureKey": {"ignored": True},
    }


def card_click(
    action: str,
    *,
    out_track_id: str = "gendan-7-abc",
    user_id: str = "mgr01",
    space_type: str = "IM_GROUP",
    space_id: str = "cidGROUP1==",
    as_value: bool = False,
    reason: str | None = None,
) -> dict[str, Any]:
    """A card click (Stream ``data`` / HTTP card callback body) whose button param ``action`` is set."""
    params: dict[str, Any] = {"action": action}
    if reason is not None:
        params["reason"] = reason
    inner = json.dumps({"cardPrivateData": {"actionIds": ["btn1"], "params": params}})
    return {
        "type": "actionCallback",
        "outTrackId": out_track_id,
        "userId": user_id,
        "corpId": "dingcorp1",
        "spaceType": space_type,
        "spaceId": space_id,
        "userIdType": 1,
        "extension": "{}",
        ("value" if as_value else "content"): inner,
    }


def random_aes_key() -> str:
    """A 43-character EncodingAESKey like the DingTalk console generates."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(43))


def encrypt_event(
    event: dict[str, Any],
    *,
    token: str,
    aes_key: str,
    owner_key: str,
    timestamp: str | None = None,
    nonce: str = "nonce123",
) -> tuple[dict[str, str], bytes]:
    """``(query, body)`` of an event-subscription POST carrying ``event``, as DingTalk encrypts it."""
    crypto = DingTalkCrypto(token, aes_key, owner_key)
    sealed = crypto.encrypt_message(json.dumps(event), nonce=nonce, timestamp=timestamp or str(now_ms()))
    query = {"signature": sealed["msg_signature"], "timestamp": sealed["timeStamp"], "nonce": sealed["nonce"]}
    return query, json.dumps({"encrypt": sealed["encrypt"]}).encode()


def decrypt_answer(answer: dict[str, str], *, token: str, aes_key: str, owner_key: str) -> str:
    """What DingTalk reads out of our encrypted answer (it expects ``success``)."""
    crypto = DingTalkCrypto(token, aes_key, owner_key)
    plain: str = crypto.decrypt_encrypt_str(
        answer["msg_signature"], answer["timeStamp"], answer["nonce"], answer["encrypt"]
    )
    return plain
