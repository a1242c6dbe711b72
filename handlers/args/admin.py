"""Admin grammars: ``/订阅`` topics, ``/角色`` grants, ``/绑定`` robot webhooks."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from handlers.args.tokens import ArgError, clip, prep, tokenize
from handlers.texts import parse as t

__all__ = ["ROLE_WORDS", "TOPICS", "parse_bind", "parse_roles", "parse_topics"]

TOPICS = ("新订单", "审批", "生产", "发货", "回款", "逾期", "售后", "日报")
_TOPIC_ALIASES = {"订单": "新订单", "下单": "新订单", "出货": "发货", "收款": "回款", "付款": "回款",
                  "超期": "逾期", "报表": "日报", "周报": "日报"}  # fmt: skip
_ALL = frozenset({"全部", "所有", "all"})


def parse_topics(args: str) -> tuple[str, ...]:
    """``新订单 发货`` → ("新订单", "发货"); ``全部`` → every topic; unknown → ArgError listing them."""
    words = tokenize(prep(args).replace("/", " "))
    if not words:
        raise ArgError(t.TOPICS_MISSING.format(valid=" ".join(TOPICS)))
    if any(w.lower() in _ALL for w in words):
        return TOPICS
    chosen: list[str] = []
    for word in words:
        topic = word if word in TOPICS else _TOPIC_ALIASES.get(word)
        if topic is None:
            raise ArgError(t.TOPIC_UNKNOWN.format(frag=clip(word), valid=" ".join(TOPICS)))
        if topic not in chosen:
            chosen.append(topic)
    return tuple(chosen)


#: role words (Chinese and English, lower case) → role code
ROLE_WORDS: dict[str, str] = {
    "销售": "sales", "业务": "sales", "业务员": "sales", "主管": "manager", "经理": "manager",
    "销售主管": "manager", "销售经理": "manager", "老板": "boss", "总经理": "boss", "总监": "boss",
    "生产": "production", "仓库": "warehouse", "库管": "warehouse", "仓管": "warehouse",
    "财务": "finance", "会计": "finance", "出纳": "finance", "客服": "service", "售后": "service",
    "采购": "purchasing", "采购员": "purchasing", "purchasing": "purchasing",
    "管理员": "admin", "admin": "admin", "sales": "sales", "manager": "manager", "boss": "boss",
    "production": "production", "warehouse": "warehouse", "finance": "finance", "service": "service",
}  # fmt: skip
_REVOKE_WORDS = frozenset({"取消", "去掉", "撤销", "移除", "删除", "收回", "不再是"})
_GRANT_WORDS = frozenset({"设为", "设置为", "授予", "加", "增加", "添加", "是"})
_USER_RE = re.compile(r"@?(?P<ref>[^\s@]+)")


def _role(word: str) -> str:
    role = ROLE_WORDS.get(word.lower())
    if role is None:
        valid = " ".join(k for k in ROLE_WORDS if not k.isascii())
        raise ArgError(t.ROLE_UNKNOWN.format(frag=clip(word), valid=valid))
    return role


def parse_roles(args: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """``@张三 主管 财务`` → ("张三", ("manager", "finance"), ()); ``张三 -仓库`` or
    ``张三 取消 仓库`` revokes. The user may be ``@张三``, ``张三``, ``zhangsan``, ``wecom:zhangsan``.
    """
    words = tokenize(prep(args))
    if not words:
        raise ArgError(t.ROLES_MISSING)
    user = _USER_RE.fullmatch(words[0])
    if user is None:
        raise ArgError(t.ROLES_MISSING)
    grant: list[str] = []
    revoke: list[str] = []
    revoking = False
    for word in words[1:]:
        if word in _REVOKE_WORDS:
            revoking = True
            continue
        if word in _GRANT_WORDS:
            revoking = False
            continue
        sign = word[:1]
        role = _role(word[1:] if sign in "-+" and len(word) > 1 else word)
        target = revoke if sign == "-" or (revoking and sign != "+") else grant
        if role not in target:
            target.append(role)
    if not grant and not revoke:
        raise ArgError(t.ROLES_NONE.format(user=user["ref"]))
    both = set(grant) & set(revoke)
    if both:
        raise ArgError(t.ROLES_CONFLICT.format(frag=" ".join(sorted(both))))
    return user["ref"], tuple(grant), tuple(revoke)


_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_SECRET_RE = re.compile(r"SEC[0-9A-Za-z]{8,}")


def _robot_kind(url: str) -> str:
    """ "wecom" or "dingtalk" for an accepted robot URL; ArgError otherwise."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ArgError(t.BIND_BAD_URL.format(frag=clip(url, 40))) from None
    if not (parts.scheme == "https" or (parts.scheme == "http" and host in _LOCAL_HOSTS)) or not host:
        raise ArgError(t.BIND_BAD_URL.format(frag=clip(url, 40)))
    query = parse_qs(parts.query)
    if parts.path.endswith("/cgi-bin/webhook/send") and query.get("key", [""])[0]:
        return "wecom"
    if parts.path.endswith("/robot/send") and query.get("access_token", [""])[0]:
        return "dingtalk"
    raise ArgError(t.BIND_BAD_URL.format(frag=clip(url, 40)))


def parse_bind(args: str) -> tuple[str, str | None]:
    """``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…`` → (url, None);
    ``https://oapi.dingtalk.com/robot/send?access_token=… SEC…`` → (url, secret).

    Plain http is accepted only for 127.0.0.1/localhost (test servers).
    """
    words = prep(args).split()
    urls = [w for w in words if w.lower().startswith(("http://", "https://"))]
    others = [w for w in words if w not in urls]
    if len(urls) != 1:
        raise ArgError(t.BIND_MISSING if not urls else t.BIND_TWO_URLS)
    kind = _robot_kind(urls[0])
    secret: str | None = None
    for word in others:
        if not _SECRET_RE.fullmatch(word) or secret is not None:
            raise ArgError(t.BIND_BAD_SECRET.format(frag=clip(word)))
        secret = word
    if secret is not None and kind == "wecom":
        raise ArgError(t.BIND_WECOM_SECRET)
    return urls[0], secret
