"""Build genuine encrypted WeCom callbacks with wechatpy's own ``WeChatCrypto``.

The crypto under test (``bot.wecom.crypto``) is independent of wechatpy, so these
requests check it against a second implementation. Always send the query with
``params=`` so that ``+`` and ``/`` in signatures and ciphertexts are encoded.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import xmltodict
from wechatpy.enterprise import WeChatCrypto
from wechatpy.enterprise.crypto import PrpCrypto

TOKEN = "gendanTestToken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OTHER_AES_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
CORP_ID = "wwfakecorp0001"
AIBOT_TOKEN = "gendanAibotToken"
AIBOT_AES_KEY = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"


def sign(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """The WeCom signature, computed here without wechatpy or the code under test."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


def url_check(
    echo: str,
    *,
    timestamp: str,
    nonce: str = "n1",
    token: str = TOKEN,
    key: str = AES_KEY,
    receive_id: str = CORP_ID,
) -> dict[str, str]:
    """Query parameters of a GET URL verification whose ``echostr`` decrypts to ``echo``."""
    crypto = WeChatCrypto(token, key, receive_id)
    echostr = PrpCrypto(crypto.key).encrypt(echo, receive_id).decode()
    return {
        "msg_signature": sign(token, timestamp, nonce, echostr),
        "timestamp": timestamp,
        "nonce": nonce,
        "echostr": echostr,
    }


def encrypt(
    plaintext: str,
    *,
    timestamp: str,
    nonce: str = "n1",
    token: str = TOKEN,
    key: str = AES_KEY,
    receive_id: str = CORP_ID,
) -> tuple[dict[str, str], str]:
    """``(query, Encrypt)`` for a POST callback, encrypted and signed by wechatpy."""
    crypto = WeChatCrypto(token, key, receive_id)
    env = xmltodict.parse(crypto.encrypt_message(plaintext, nonce=nonce, timestamp=timestamp))["xml"]
    query = {"msg_signature": env["MsgSignature"], "timestamp": timestamp, "nonce": nonce}
    return query, env["Encrypt"]


def app_post(plaintext: str, *, timestamp: str, nonce: str = "n1", **kw: Any) -> tuple[dict[str, str], str]:
    """``(query, body)`` of a self-built-app POST callback carrying ``plaintext`` XML."""
    query, encrypted = encrypt(plaintext, timestamp=timestamp, nonce=nonce, **kw)
    corp = kw.get("receive_id", CORP_ID)
    body = (
        f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>"
    )
    return query, body


def aibot_post(payload: dict[str, Any], *, timestamp: str, nonce: str = "n1") -> tuple[dict[str, str], str]:
    """``(query, body)`` of an AI-bot POST callback carrying ``payload`` (receive id "")."""
    plaintext = json.dumps(payload, ensure_ascii=False)
    query, encrypted = encrypt(
        plaintext, timestamp=timestamp, nonce=nonce, token=AIBOT_TOKEN, key=AIBOT_AES_KEY, receive_id=""
    )
    return query, json.dumps({"encrypt": encrypted})


# ---- plaintext payloads ---------------------------------------------


def text_xml(content: str, *, user: str = "zhangsan", msg_id: str = "7000000000000000001") -> str:
    """A decrypted app text message."""
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>"
    )


def card_event_xml(key: str, *, user: str = "mgr1", task_id: str = "gd1_abc", code: str = "rc-click") -> str:
    """A decrypted ``template_card_event`` (button click) with one SelectedItem."""
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        "<CreateTime>1700000100</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
        f"<TaskId><![CDATA[{task_id}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>"
        f"<ResponseCode><![CDATA[{code}]]></ResponseCode><AgentID>1000002</AgentID>"
        "<SelectedItems><SelectedItem><QuestionKey><![CDATA[q1]]></QuestionKey>"
        "<OptionIds><OptionId><![CDATA[a]]></OptionId></OptionIds></SelectedItem></SelectedItems></xml>"
    )


def delete_user_xml(user: str = "lisi") -> str:
    """A decrypted ``change_contact`` / ``delete_user`` event."""
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
        "<CreateTime>1700000200</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[change_contact]]></Event><ChangeType>delete_user</ChangeType>"
        f"<UserID><![CDATA[{user}]]></UserID></xml>"
    )


def aibot_text(
    content: str, *, group: bool = True, msgid: str = "CAIQ-msg-1", user: str = "wangwu"
) -> dict[str, Any]:
    """A decrypted AI-bot text message."""
    data: dict[str, Any] = {
        "msgid": msgid,
        "aibotid": "AIBOTID",
        "chattype": "group" if group else "single",
        "from": {"userid": user},
        "response_url": "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RESP1",
        "msgtype": "text",
        "text": {"content": content},
    }
    if group:
        data["chatid"] = "wrkGROUP1"
    return data


def aibot_card_event(key: str, *, msgid: str = "CAIQ-evt-1", user: str = "wangwu") -> dict[str, Any]:
    """A decrypted AI-bot ``template_card_event``."""
    return {
        "msgid": msgid,
        "create_time": 1700000000,
        "aibotid": "AIBOTID",
        "chatid": "wrkGROUP1",
        "chattype": "group",
        "from": {"userid": user},
        "response_url": "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RESP2",
        "msgtype": "event",
        "event": {
            "eventtype": "template_card_event",
            "template_card_event": {"card_type": "button_interaction", "event_key": key, "task_id": "gd9_x"},
        },
    }
