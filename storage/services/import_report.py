"""What every import shares, whatever it imports: the report of its issues, its context, its progress,
and the checks every kind of row needs.

Problems are reported as :class:`Issue` codes with parameters; the Chinese texts are rendered
by ``handlers/texts/import_export.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any, Literal

from storage.services.base import MAX_AMOUNT, Provenance

Kind = Literal["customers", "products", "orders"]
#: (rows done, rows in total)
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Issue:
    """One problem (an error blocks the import; a note does not).

    ``row`` is the spreadsheet row number as the user sees it (0: the file as a whole).
    """

    row: int
    code: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    """What an import did (or, on a dry run or with errors, would have done)."""

    kind: Kind
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[Issue] = field(default_factory=list)
    notes: list[Issue] = field(default_factory=list)

    @property
    def written(self) -> bool:
        """Whether the changes were committed."""
        return not self.errors and not self.dry_run

    def error(self, row: int, code: str, **params: Any) -> None:
        """Add an error."""
        self.errors.append(Issue(row, code, params))

    def note(self, row: int, code: str, **params: Any) -> None:
        """Add a note (not an error)."""
        self.notes.append(Issue(row, code, params))


@dataclass(frozen=True)
class ImportContext:
    """What every import needs besides its rows."""

    prov: Provenance
    now: datetime
    tz: tzinfo
    #: who owns a historic order whose 负责人 cell is empty (a name, user id or platform:user_id)
    default_owner: str | None = None
    progress: Progress | None = None


class Ticker:
    """Counts rows done and tells the progress callback."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total = total
        self.done = 0.0
        #: the share of the bar one row moves it by (an import that passes over its rows twice: 0.5)
        self.weight = 1.0
        self._progress = progress
        self.tick(0)

    def tick(self, n: int = 1) -> None:
        """``n`` more rows are done."""
        self.done += n * self.weight
        if self._progress is not None:
            self._progress(round(self.done), self.total)

    def finish(self) -> None:
        """Everything is done (also what a second pass skipped: nothing to write)."""
        if self.done < self.total:
            self.done = self.total
            if self._progress is not None:
                self._progress(self.total, self.total)


def check_length(report: Report, row: int, values: dict[str, str | None], limits: dict[str, int]) -> bool:
    """Report text longer than its column; True when everything fits."""
    ok = True
    for name, limit in limits.items():
        value = values.get(name)
        if value is not None and len(value) > limit:
            report.error(row, "too_long", field=name, limit=limit)
            ok = False
    return ok


def check_amount(report: Report, row: int, name: str, value: Decimal | None, *, negative_ok: bool = False) -> bool:
    """Report a negative or absurdly large amount; True when fine (or empty)."""
    if value is None:
        return True
    if value < 0 and not negative_ok:
        report.error(row, "negative", field=name, value=value)
        return False
    if abs(value) >= MAX_AMOUNT:
        report.error(row, "too_large", field=name, value=value)
        return False
    return True
