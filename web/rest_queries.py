"""The query parameters of the REST API as pydantic models: parsed by the handlers, documented by them.

A parameter that cannot be used answers ``400 {"error": …}`` with the message of the first
problem (:class:`BadParam`); the parameters are checked in the order of the model's fields.
``page`` and ``size`` are clamped (1.., 1..200), not refused; an empty parameter is "not given".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from storage.services import sales_groups
from storage.vocab import Stage, State
from web.rest_schemas import PURCHASE_STATUSES, QUOTE_FILTERS

M = TypeVar("M", bound=BaseModel)
#: the longest period a statement or report covers (a typo such as 0202 for 2026 is refused)
MAX_DAYS = 3700
MAX_SIZE = 200


class BadParam(ValueError):
    """A query parameter that cannot be used: answered 400 with the message."""


def _bad(message: str) -> PydanticCustomError:
    return PydanticCustomError("bad_param", "{message}", {"message": message})


def parse(model: type[M], query: Mapping[str, str], context: dict[str, Any] | None = None) -> M:
    """``query`` (the first value of each parameter) as ``model``; :class:`BadParam` when it cannot be used."""
    try:
        return model.model_validate({k: query.get(k) for k in query}, context=context)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BadParam(str((first.get("ctx") or {}).get("message", first["msg"]))) from None


def _number(low: int, high: int | None) -> BeforeValidator:
    def clamp(value: Any) -> int:
        try:
            n = int(value)
        except (TypeError, ValueError):
            raise _bad("page and size must be integers") from None
        return max(low, n) if high is None else min(high, max(low, n))

    return BeforeValidator(clamp)


def _given(value: Any) -> Any:
    return value or None


def _one_of(what: str, allowed: tuple[str, ...]) -> BeforeValidator:
    def check(value: Any) -> str | None:
        if not value:
            return None
        if value not in allowed:
            raise _bad(f"unknown {what} {value!r}")
        return str(value)

    return BeforeValidator(check)


def _day(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise _bad("from and to must be dates (YYYY-MM-DD)") from None


PageNo = Annotated[int, Field(ge=1), _number(1, None)]
PageSize = Annotated[int, Field(ge=1, le=MAX_SIZE), _number(1, MAX_SIZE)]
Text = Annotated[str | None, BeforeValidator(_given)]
#: ``overdue=true``; any other value is "not asked"
Flag = Annotated[bool, WithJsonSchema({"type": "string", "enum": ["true"]}), BeforeValidator(lambda v: v == "true")]
Day = Annotated[date | None, Field(description="inclusive; default: this month up to today"), BeforeValidator(_day)]


class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class OrderQuery(_Query):
    """``GET /orders``."""

    page: PageNo = 1
    size: PageSize = 50
    state: Annotated[str | None, Field(json_schema_extra={"enum": list(State.__members__)}),
                     _one_of("state", tuple(State.__members__))] = None
    stage: Annotated[str | None, Field(json_schema_extra={"enum": list(Stage.__members__)}),
                     _one_of("stage", tuple(Stage.__members__))] = None
    customer: Annotated[Text, Field(description="part of the name, or the customer's id")] = None
    owner: Annotated[Text, Field(description="the owner's user id")] = None
    overdue: Flag = False


class QuoteQuery(_Query):
    """``GET /quotes``."""

    page: PageNo = 1
    size: PageSize = 50
    status: Annotated[str | None, Field(json_schema_extra={"enum": list(QUOTE_FILTERS)}),
                      _one_of("status", QUOTE_FILTERS)] = None
    owner: Annotated[Text, Field(description="user id of the owner")] = None
    customer: Annotated[Text, Field(description="part of the name")] = None


class PurchaseQuery(_Query):
    """``GET /purchases``."""

    page: PageNo = 1
    size: PageSize = 50
    status: Annotated[str | None, Field(json_schema_extra={"enum": list(PURCHASE_STATUSES)}),
                      _one_of("status", PURCHASE_STATUSES)] = None
    overdue: Flag = False


class CustomerQuery(_Query):
    """``GET /customers``."""

    page: PageNo = 1
    size: PageSize = 50
    q: Annotated[str, Field(description="part of the name"), BeforeValidator(lambda v: (v or "").strip())] = ""


def _period(query: Any, info: ValidationInfo) -> tuple[date, date]:
    today = (info.context or {})["today"]
    start, end = query.from_ or today.replace(day=1), query.to or today
    if end < start:
        raise _bad("to is before from")
    if (end - start).days > MAX_DAYS:
        raise _bad(f"the period may cover at most {MAX_DAYS} days")
    return start, end


class _Period(_Query):
    """A period's ``from``/``to`` (ISO dates, inclusive); by default this month up to today
    (``context={"today": …}``). Subclasses declare the two fields, after any that must be checked first."""

    if TYPE_CHECKING:  # declared by each subclass, so that its own fields can come first
        from_: Day
        to: Day

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> _Period:
        self.from_, self.to = _period(self, info)
        return self

    @property
    def span(self) -> tuple[date, date]:
        """The first and last day."""
        assert self.from_ is not None and self.to is not None
        return self.from_, self.to


class PeriodQuery(_Period):
    """``from``/``to`` of a statement or report."""

    from_: Annotated[Day, Field(alias="from")] = None
    to: Day = None


class SalesQuery(_Period):
    """``GET /reports/sales``: ``group_by`` is checked before the period."""

    group_by: Annotated[sales_groups.GroupBy, BeforeValidator(lambda v: _group(v))] = "owner"
    from_: Annotated[Day, Field(alias="from")] = None
    to: Day = None


def _group(value: Any) -> str:
    if value is None:
        return "owner"
    if value not in sales_groups.GROUPS:
        raise _bad(f"group_by must be one of {', '.join(sales_groups.GROUPS)}")
    return str(value)
