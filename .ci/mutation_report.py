"""Kill rate per mutation target from ``mutmut results --all true`` on stdin; lists the survivors.

Used by ``make mutate``. A target is a module, or (for changes.py) its pure functions only.
"""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict

TARGETS = {
    "lifecycle": re.compile(r"^storage\.lifecycle\."),
    "approvals": re.compile(r"^storage\.services\.approvals\."),
    "changes (pure)": re.compile(r"^storage\.services\.changes\.x_(_proposed|obsolete_reason)__mutmut_"),
    "numbers": re.compile(r"^handlers\.args\.numbers\."),
    "dates": re.compile(r"^handlers\.args\.dates\."),
}
#: outcomes that count as killed (a timeout or a crash means the tests noticed the change)
KILLED = {"killed", "timeout", "segfault", "suspicious"}


def main() -> int:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    for line in sys.stdin:
        name, _, status = line.strip().rpartition(": ")
        target = next((t for t, pattern in TARGETS.items() if pattern.match(name)), None)
        if target is None or status == "not checked":
            continue
        counts[target][status] += 1
        if status not in KILLED:
            survivors[target].append(f"{name} ({status})")
    print(f"{'target':<16}{'mutants':>8}{'killed':>8}{'rate':>8}")
    for target in TARGETS:
        total = sum(counts[target].values())
        killed = sum(n for s, n in counts[target].items() if s in KILLED)
        rate = f"{100 * killed / total:.1f}%" if total else "-"
        print(f"{target:<16}{total:>8}{killed:>8}{rate:>8}")
    for target in TARGETS:
        if survivors[target]:
            print(f"\nsurviving in {target}:")
            print("\n".join(f"  {s}" for s in survivors[target]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
