"""Alert rules: the typed model and its validation (the file store is :mod:`domain.alerts.store`).

Each rule (:class:`AlertRule`):

=============  ===================================================================================
id             slug (``a-z``, ``0-9``, ``-``, ``_``; starts with a letter or digit; <= 64 chars),
               unique in the file; the identity of its events and state
type           ``price_above`` / ``price_below`` (``level`` USD, on ``close``),
               ``price_cross_above_sma`` / ``price_cross_below_sma`` (``window`` 20, 50 or 200:
               ``adjusted_close`` vs ``sma_<window>``), ``rsi_above`` / ``rsi_below`` (``level``
               0-100 on ``rsi_14``), ``volume_spike`` (``relative_volume >= level``),
               ``indicator_above`` / ``indicator_below`` (``column``: any column the screener
               registry marks ``alert`` (:mod:`domain.screens.columns`), e.g. ``stoch_k``,
               ``macd_hist``, ``return_21d``; ``level`` in that column's unit),
               ``screen_enter`` / ``screen_exit`` (``screen``: a preset of
               :func:`domain.screens.presets`, or ``filters``: fields of
               :class:`~domain.screens.ScreenSpec`, ranges as ``{min: .., max: ..}``)
tickers        tickers watched; required except for screen rules (there: optional, restricts the
               screen to these tickers)
channels       subset of ``log``, ``webhook``, ``email`` (default ``[log]``)
enabled        ``false`` = paused (not evaluated)
since          first trade_date evaluated on the first evaluation (not for screen rules)
description    free text
created_at     UTC time the rule was created (set by :func:`add_rule` when missing)
=============  ===================================================================================

Errors name the file, the rule (1-based position and id) and the field, e.g.
``data/alerts/rules.yml, rule 3 (id 'nvda-rsi'), field 'level': required by rsi_above``.

Longer than our usual ~300 lines on purpose: half of it is the per-field validation that
makes the errors name the field.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timezone
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from domain.screens import (
    ScreenSpec,
    preset_names,
    presets,
    registry,
    spec_from_mapping,
)

SMA_WINDOWS = (20, 50, 200)
RULE_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")

Channel = Literal["log", "webhook", "email"]


class RuleType(StrEnum):
    """What a rule watches (see the module docstring for the fields each type uses)."""

    PRICE_ABOVE = "price_above"
    PRICE_BELOW = "price_below"
    PRICE_CROSS_ABOVE_SMA = "price_cross_above_sma"
    PRICE_CROSS_BELOW_SMA = "price_cross_below_sma"
    RSI_ABOVE = "rsi_above"
    RSI_BELOW = "rsi_below"
    VOLUME_SPIKE = "volume_spike"
    INDICATOR_ABOVE = "indicator_above"
    INDICATOR_BELOW = "indicator_below"
    SCREEN_ENTER = "screen_enter"
    SCREEN_EXIT = "screen_exit"


LEVEL_TYPES = frozenset({RuleType.PRICE_ABOVE, RuleType.PRICE_BELOW, RuleType.RSI_ABOVE, RuleType.RSI_BELOW,
                         RuleType.VOLUME_SPIKE, RuleType.INDICATOR_ABOVE, RuleType.INDICATOR_BELOW})  # fmt: skip
INDICATOR_TYPES = frozenset({RuleType.INDICATOR_ABOVE, RuleType.INDICATOR_BELOW})
SMA_TYPES = frozenset({RuleType.PRICE_CROSS_ABOVE_SMA, RuleType.PRICE_CROSS_BELOW_SMA})
SCREEN_TYPES = frozenset({RuleType.SCREEN_ENTER, RuleType.SCREEN_EXIT})

#: One line per rule type, for forms and documentation.
RULE_TYPE_DESCRIPTIONS: Mapping[RuleType, str] = {
    RuleType.PRICE_ABOVE: "close rises above level (USD)",
    RuleType.PRICE_BELOW: "close falls below level (USD)",
    RuleType.PRICE_CROSS_ABOVE_SMA: "adjusted close crosses above its SMA(window), window 20, 50 or 200",
    RuleType.PRICE_CROSS_BELOW_SMA: "adjusted close crosses below its SMA(window), window 20, 50 or 200",
    RuleType.RSI_ABOVE: "RSI(14) rises above level (0-100)",
    RuleType.RSI_BELOW: "RSI(14) falls below level (0-100)",
    RuleType.VOLUME_SPIKE: "relative volume (volume / 20-day average) reaches level",
    RuleType.INDICATOR_ABOVE: "a screener column (column) rises above level, in the column's unit",
    RuleType.INDICATOR_BELOW: "a screener column (column) falls below level, in the column's unit",
    RuleType.SCREEN_ENTER: "a ticker enters a saved screen (preset or filters)",
    RuleType.SCREEN_EXIT: "a ticker leaves a saved screen (preset or filters)",
}


class RulesFileError(ValueError):
    """The rules file (or a rule given to the API) is invalid; ``problems`` lists each one as
    ``<file>, rule <n> (id '<id>'), field '<field>': <what is wrong>``."""

    def __init__(self, path: Path | str, problems: Sequence[str]):
        self.path = Path(path)
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class RuleNotFoundError(LookupError):
    """No rule with that id in the file."""


def screen_spec_from_filters(filters: Mapping[str, Any]) -> ScreenSpec:
    """A :class:`ScreenSpec` from a rule's ``filters`` mapping (see
    :func:`domain.screens.spec_from_mapping`).

    Raises:
        ValueError: unknown field, or a value ScreenSpec rejects (names the field).
    """
    return spec_from_mapping(filters)


def _rule_type(info: ValidationInfo) -> RuleType | None:
    return info.data.get("type")


def _kind_using(value: Any, info: ValidationInfo, kinds: frozenset[RuleType]) -> RuleType | None:
    """The rule's type when it is one of ``kinds`` (the types that use the field being
    validated), else None: also when the type itself failed validation.

    Raises:
        ValueError: the field is set on a rule type that does not use it.
    """
    kind = _rule_type(info)
    if kind is None:
        return None
    if kind not in kinds:
        if value is not None:
            raise ValueError(f"not used by {kind} (remove it)")
        return None
    return kind


class AlertRule(BaseModel):
    """One alert rule (see the module docstring). Immutable; validated on construction.

    Raises:
        pydantic.ValidationError: on construction, one error per field (``loc`` names it).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    type: RuleType
    tickers: tuple[str, ...] = Field(default=(), validate_default=True)
    level: float | None = Field(default=None, validate_default=True)
    window: int | None = Field(default=None, validate_default=True)
    column: str | None = Field(default=None, validate_default=True)
    screen: str | None = Field(default=None, validate_default=True)
    filters: dict[str, Any] | None = Field(default=None, validate_default=True)
    channels: tuple[Channel, ...] = ("log",)
    enabled: bool = True
    since: date | None = Field(default=None, validate_default=True)
    description: str = ""
    created_at: datetime | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not RULE_ID.fullmatch(value):
            raise ValueError(
                f"must be a slug of lower-case letters, digits, '-' and '_' starting with a letter or digit "
                f"(at most 64 characters), got {value!r}"
            )
        return value

    @field_validator("tickers")
    @classmethod
    def _tickers(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        tickers = tuple(t.strip().upper() for t in value)
        bad = [t for t in tickers if not t or len(t) > 10 or not all(c.isalnum() or c in ".-" for c in t)]
        if bad:
            raise ValueError(f"not ticker symbols: {bad}")
        if len(set(tickers)) != len(tickers):
            raise ValueError(f"duplicate tickers in {list(tickers)}")
        kind = _rule_type(info)
        if kind is not None and kind not in SCREEN_TYPES and not tickers:
            raise ValueError(f"at least one ticker is required by {kind}")
        return tickers

    @field_validator("level", mode="before")
    @classmethod
    def _level_is_a_number(cls, value: Any) -> Any:
        if isinstance(value, bool):  # YAML `true` would otherwise read as 1.0
            raise ValueError(f"must be a number, got {value!r}")
        return value

    @field_validator("level")
    @classmethod
    def _level(cls, value: float | None, info: ValidationInfo) -> float | None:
        kind = _kind_using(value, info, LEVEL_TYPES)
        if kind is None:
            return value
        if value is None:
            raise ValueError(f"required by {kind}")
        if not math.isfinite(value):
            raise ValueError(f"must be a finite number, got {value!r}")
        if kind in (RuleType.RSI_ABOVE, RuleType.RSI_BELOW) and not 0 < value < 100:
            raise ValueError(f"an RSI level must be between 0 and 100 (exclusive), got {value:g}")
        if kind in INDICATOR_TYPES:
            return value  # in the column's unit: returns and MACD values may be negative
        if not value > 0:
            raise ValueError(f"must be > 0, got {value:g}")
        return value

    @field_validator("window")
    @classmethod
    def _window(cls, value: int | None, info: ValidationInfo) -> int | None:
        if _kind_using(value, info, SMA_TYPES) is None:
            return value
        if value not in SMA_WINDOWS:
            raise ValueError(f"must be one of {', '.join(map(str, SMA_WINDOWS))} (sma_20/50/200), got {value!r}")
        return value

    @field_validator("column")
    @classmethod
    def _column(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind = _kind_using(value, info, INDICATOR_TYPES)
        if kind is None:
            return value
        allowed = registry().alert_columns
        if value not in allowed:
            raise ValueError(f"required by {kind}: one of {', '.join(allowed)}; got {value!r}")
        return value

    @field_validator("screen")
    @classmethod
    def _screen(cls, value: str | None, info: ValidationInfo) -> str | None:
        _kind_using(value, info, SCREEN_TYPES)
        if value is not None and value not in preset_names():
            raise ValueError(f"unknown preset {value!r}; presets: {', '.join(preset_names())}")
        return value

    @field_validator("filters")
    @classmethod
    def _filters(cls, value: dict[str, Any] | None, info: ValidationInfo) -> dict[str, Any] | None:
        kind = _kind_using(value, info, SCREEN_TYPES)
        if kind is None:
            return value
        if "screen" not in info.data:  # the screen field itself failed: reported there
            return value
        if (info.data["screen"] is None) == (value is None):
            raise ValueError(f"{kind} needs exactly one of screen (a preset name) or filters")
        if value is not None:
            screen_spec_from_filters(value)
        return value

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one channel (log, webhook, email)")
        if len(set(value)) != len(value):
            raise ValueError(f"duplicate channels in {list(value)}")
        return value

    @field_validator("since")
    @classmethod
    def _since(cls, value: date | None, info: ValidationInfo) -> date | None:
        kind = _rule_type(info)
        if kind in SCREEN_TYPES and value is not None:
            raise ValueError(f"not used by {kind}: a screen is evaluated on the latest trade date only")
        return value

    @field_validator("created_at")
    @classmethod
    def _created_at(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)

    def screen_spec(self) -> ScreenSpec:
        """The screen a ``screen_enter``/``screen_exit`` rule watches.

        Raises:
            ValueError: not a screen rule.
        """
        if self.type not in SCREEN_TYPES:
            raise ValueError(f"rule {self.id!r} ({self.type}) watches no screen")
        return presets()[self.screen] if self.screen is not None else screen_spec_from_filters(self.filters or {})

    @property
    def screen_label(self) -> str:
        """The preset name, or ``custom filters {...}`` (for messages)."""
        if self.screen is not None:
            return self.screen
        return "custom filters " + json.dumps(self.filters, sort_keys=True)

    def fingerprint(self) -> str:
        """SHA-256 (16 hex digits) of what the rule evaluates: type, tickers, level, window,
        column (when set), screen, filters and since. Channels, enabled, description and
        created_at are left out, so pausing or renaming a channel keeps the rule's state."""
        condition = self.model_dump(mode="json", include={"type", "tickers", "level", "window", "screen", "filters",
                                                          "since"})  # fmt: skip
        condition["tickers"] = sorted(condition["tickers"])
        if self.column is not None:
            condition["column"] = self.column
        return hashlib.sha256(json.dumps(condition, sort_keys=True).encode()).hexdigest()[:16]

    def to_yaml_dict(self) -> dict[str, Any]:
        """Plain mapping for YAML: fields in declaration order, unset (None) ones left out."""
        data = self.model_dump(mode="python", exclude_none=True)
        data["type"] = str(self.type)
        for key in ("tickers", "channels"):
            data[key] = list(data[key])
        if not data["tickers"]:
            del data["tickers"]
        if not data["description"]:
            del data["description"]
        return data


def rule_location(path: Path | str, index: int | None, rule_id: Any, field: str | None) -> str:
    where = str(path)
    if index is not None:
        where += f", rule {index}"
        if isinstance(rule_id, str):
            where += f" (id {rule_id!r})"
    elif isinstance(rule_id, str):
        where += f", rule {rule_id!r}"
    return where + (f", field {field!r}" if field else "")


def _problems(error: ValidationError, path: Path | str, index: int | None, rule_id: Any) -> list[str]:
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or None
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = f"unknown field; allowed: {', '.join(AlertRule.model_fields)}"
        problems.append(f"{rule_location(path, index, rule_id, field)}: {message}")
    return problems


def parse_rule(data: Mapping[str, Any], source: Path | str = "rule", index: int | None = None) -> AlertRule:
    """Validate one rule given as a mapping (a YAML item, or the app's form).

    Raises:
        RulesFileError: every problem, naming ``source``, the rule (``index`` when given, and its
            id) and the field.
    """
    if not isinstance(data, Mapping):
        raise RulesFileError(source, [f"{rule_location(source, index, None, None)}: a rule must be a mapping, got "
                                      f"{type(data).__name__}"])  # fmt: skip
    try:
        return AlertRule.model_validate(dict(data))
    except ValidationError as error:
        raise RulesFileError(source, _problems(error, source, index, data.get("id"))) from None
