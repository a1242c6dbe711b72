"""The commands offered for an unknown ``/词``: words people use for them, then the nearest spellings.

Pure (no I/O). The word lists are what people type, not what the bot says; they sit with the
texts because they are Chinese vocabulary of the chat language.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

#: words people type for a command we have, and the command line they mean (the first that exists is
#: offered; several are offered when the word fits several)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "我的": ("/订单 我的",), "我的订单": ("/订单 我的",), "我的单": ("/订单 我的",), "我的单子": ("/订单 我的",),
    "待审批": ("/订单 待审批",), "待审": ("/订单 待审批",), "逾期": ("/订单 逾期",), "本周": ("/订单 本周",),
    "列表": ("/订单",), "订单列表": ("/订单",), "全部订单": ("/订单",),
    "催": ("/提醒", "/跟进"), "催办": ("/提醒", "/跟进"), "催单": ("/提醒", "/跟进"), "催货": ("/提醒", "/跟进"),
    "催款": ("/提醒", "/跟进"), "跟单": ("/跟进", "/查单"), "记录": ("/跟进",),
    "审核": ("/审批",), "批准": ("/审批",), "同意": ("/审批",), "驳回": ("/审批",),
    "出货": ("/发货",), "出库": ("/发货",), "送货": ("/发货",), "物流": ("/发货",),
    "收款": ("/回款",), "付款": ("/回款",), "到账": ("/回款",), "收钱": ("/回款",),
    "取消": ("/作废", "/撤回"), "删除": ("/作废",), "暂停": ("/挂起",), "冻结": ("/挂起",),
    "进度": ("/查单",), "详情": ("/查单",), "状态": ("/查单",), "查": ("/查单", "/订单"),
    "修改": ("/变更", "/补充"), "改": ("/变更", "/补充"), "改单": ("/变更",),
    "新建": ("/下单",), "建单": ("/下单",), "录单": ("/下单",), "报单": ("/下单",),
    "加库存": ("/入库",), "补货": ("/入库",), "查库存": ("/库存",), "对账单": ("/对账",), "统计": ("/报表",),
    "菜单": ("/帮助",), "命令": ("/帮助",), "说明": ("/帮助",), "权限": ("/角色",), "授权": ("/角色",),
}
#: at most this many commands are offered
LIMIT = 3


class Named(Protocol):
    """A registered command as far as suggestions need it."""

    @property
    def name(self) -> str: ...

    @property
    def aliases(self) -> tuple[str, ...]: ...


def distance(a: str, b: str) -> int:
    """Edit distance with swapped neighbours counting one (``hlep`` → ``help``), case-insensitive."""
    a, b = a.lower(), b.lower()
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            best = min(rows[i - 1][j] + 1, row[j - 1] + 1, rows[i - 1][j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                best = min(best, rows[i - 2][j - 2] + 1)
            row.append(best)
        rows.append(row)
    return rows[-1][-1]


def _close_enough(word: str, name: str) -> int | None:
    """The distance when ``word`` may be a slip for ``name``: one character in two-character Chinese
    names (下担 → 下单), about a third of a longer or ASCII name (stokc → stock)."""
    d = distance(word, name)
    allowed = max(1, min(len(word), len(name)) // 3)
    if d > allowed or d >= max(len(word), len(name)):
        return None
    return d


def suggestions(word: str, args: str, specs: Iterable[Named]) -> list[str]:
    """Command lines to offer for the unknown ``/word args`` (best first, at most ``LIMIT``)."""
    registered = list(specs)
    known = {n.lower() for s in registered for n in (s.name, *s.aliases)}
    offered: list[str] = []
    for line in SYNONYMS.get(word.lower(), ()):
        if line[1:].split(" ", 1)[0].lower() in known:
            offered.append(line)
    ranked: list[tuple[int, int, str]] = []
    for order, spec in enumerate(registered):
        best = min((d for n in (spec.name, *spec.aliases) if (d := _close_enough(word, n)) is not None),
                   default=None)
        if best is not None:
            ranked.append((best, order, f"/{spec.name}"))
    for _, _, line in sorted(ranked):
        if line not in offered:
            offered.append(line)
    return [_with_args(line, args) for line in offered[:LIMIT]]


def _with_args(line: str, args: str) -> str:
    """The person's own arguments after the offered command (``/下担 #3`` → ``/下单 #3``)."""
    return f"{line} {args}" if args and " " not in line else line


def unknown_command(word: str, args: str = "", specs: Sequence[Named] = ()) -> str:
    """Reply to an unknown command: the nearest commands when there are some."""
    offered = suggestions(word, args, specs)
    head = f"没有「/{word}」这个命令。"
    if offered:
        head += "你是不是要发：" + " 或 ".join(offered) + "\n"
    return head + "发送 /帮助 查看全部命令。"
