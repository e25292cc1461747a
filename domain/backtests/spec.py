"""The strategy specification of a backtest: one YAML file, validated with pydantic.

A strategy file (``data/strategies/<name>.yml``)::

    name: momentum_top20
    market: US                 # US, KOSPI, KOSDAQ, KRX (KOSPI and KOSDAQ) or ALL
    screen: {preset: Momentum, filters: {rsi_14: {max: 80}}}
    rank_by: return_126d       # a sortable, numeric screener column
    descending: true
    top_n: 20
    rebalance: monthly         # weekly | monthly | quarterly
    weighting: equal           # equal | market_cap | inverse_volatility (63 bars)
    cost_bps: 10               # per side, on traded notional (basis points)
    start: 2014-01-01
    end: 2018-02-07
    benchmark: EQUAL_WEIGHT    # or a ticker (AAPL, 005930), or an index (KS11, KQ11, KS200)

``screen`` uses the screener's own presets (:mod:`domain.screens.presets`) and filter fields
(:func:`domain.screens.spec_from_mapping`: ranges as ``{min, max}``, ``vs_sma_200: above``,
...), with the same semantics; ``filters`` override the preset's. The market decides the screen's
markets: a preset meant for other markets is an error, not a silent narrowing.

Raises (:func:`load_strategy`, :func:`strategy_from_mapping`): :class:`StrategyError` naming the
file, the field and the problem.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from domain.markets import markets as known_markets
from domain.screens import ScreenSpec, preset_names, presets, spec_from_mapping
from domain.screens.columns import registry

#: Market choices of a strategy and the screener markets each covers (``ALL``: every market
#: of the seed).
MARKET_GROUPS: Mapping[str, tuple[str, ...]] = {
    "US": ("US",),
    "KOSPI": ("KOSPI",),
    "KOSDAQ": ("KOSDAQ",),
    "KRX": ("KOSPI", "KOSDAQ"),
}
#: The benchmark that is the equal-weighted universe of the strategy's markets.
EQUAL_WEIGHT = "EQUAL_WEIGHT"
#: Units of screener columns a strategy can rank by (numbers, not text, dates or flags).
RANKABLE_UNITS = frozenset({"usd", "usd_per_share", "fraction", "ratio", "index", "count", "shares", "score"})

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")


class StrategyError(ValueError):
    """A strategy file or mapping is invalid (the message names file, field and problem)."""


class ScreenSection(BaseModel):
    """The ``screen`` block: a preset name, filters, or both (filters override the preset's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    preset: str | None = None
    filters: dict[str, Any] = Field(default_factory=dict)

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str | None) -> str | None:
        if value is not None and value not in preset_names():
            raise ValueError(f"unknown preset {value!r}; presets: {', '.join(preset_names())}")
        return value


class StrategySpec(BaseModel):
    """One strategy (see the module docstring). Immutable; :attr:`spec_hash` identifies its
    content (the same spec on the same build gives the same run)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    market: Literal["US", "KOSPI", "KOSDAQ", "KRX", "ALL"]
    screen: ScreenSection = Field(default_factory=ScreenSection)
    rank_by: str
    descending: bool = True
    top_n: int = Field(ge=1, le=500)
    rebalance: Literal["weekly", "monthly", "quarterly"] = "monthly"
    weighting: Literal["equal", "market_cap", "inverse_volatility"] = "equal"
    cost_bps: float = Field(default=10.0, ge=0, le=1000)
    start: date
    end: date
    benchmark: str = EQUAL_WEIGHT

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be 1-80 letters, digits, '_', '-' or '.', starting with a letter or digit")
        return value

    @field_validator("rank_by")
    @classmethod
    def _rankable(cls, value: str) -> str:
        reg = registry()
        rankable = [c.name for c in reg if c.sort and c.unit in RANKABLE_UNITS]
        if value not in rankable:
            raise ValueError(
                f"{value!r} is not a numeric sortable screener column; choose one of {', '.join(rankable)}"
            )
        return value

    @field_validator("benchmark")
    @classmethod
    def _benchmark(cls, value: str) -> str:
        value = value.strip()
        if not value or len(value) > 32 or not re.match(r"^[A-Za-z0-9_.^-]+$", value):
            raise ValueError(f"must be {EQUAL_WEIGHT}, a ticker or an index code, got {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> StrategySpec:
        if self.start >= self.end:
            raise ValueError(f"start {self.start} must be before end {self.end}")
        self.screen_spec()  # the screen must compile (raises ValueError naming the filter)
        return self

    @property
    def markets(self) -> tuple[str, ...]:
        """The screener markets the strategy trades (seed codes, in the seed's order)."""
        if self.market == "ALL":
            return tuple(known_markets())
        return MARKET_GROUPS[self.market]

    def screen_spec(self) -> ScreenSpec:
        """The screen as a :class:`~domain.screens.ScreenSpec` limited to :attr:`markets` (sort and
        limit unused: a strategy ranks by :attr:`rank_by` and keeps :attr:`top_n`).

        Raises:
            ValueError: a filter the screener rejects, or a preset meant for other markets.
        """
        base = presets()[self.screen.preset] if self.screen.preset else ScreenSpec()
        if base.markets and not set(self.markets) <= set(base.markets):
            raise ValueError(
                f"screen preset {self.screen.preset!r} is meant for {', '.join(base.markets)}, "
                f"not for the strategy's market {self.market}"
            )
        if "markets" in self.screen.filters or "sort_by" in self.screen.filters or "limit" in self.screen.filters:
            raise ValueError("screen filters cannot set markets, sort_by or limit (use market, rank_by and top_n)")
        if not self.screen.filters:
            return base.replace(markets=self.markets)
        parsed = spec_from_mapping(self.screen.filters)
        return base.replace(
            markets=self.markets,
            text=parsed.text or base.text,
            sectors=parsed.sectors or base.sectors,
            **parsed.filters,
        )

    @property
    def spec_hash(self) -> str:
        """SHA-256 (hex) of the spec's canonical JSON: equal specs, equal hashes."""
        return hashlib.sha256(canonical_json(self).encode("utf-8")).hexdigest()


def canonical_json(spec: StrategySpec) -> str:
    """The spec as JSON with sorted keys and ISO dates (what :attr:`StrategySpec.spec_hash` hashes
    and ``backtest_runs.spec_json`` stores)."""
    return json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def _field_errors(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(spec)"
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"field {where!r}: {message}")
    return "; ".join(parts)


def strategy_from_mapping(data: Any, source: str = "<mapping>") -> StrategySpec:
    """Validate plain data (a parsed YAML document) as a strategy.

    Raises:
        StrategyError: ``source``, then each field at fault and its problem.
    """
    if not isinstance(data, Mapping):
        raise StrategyError(f"{source}: a strategy must be a mapping of fields, got {type(data).__name__}")
    try:
        return StrategySpec.model_validate(dict(data))
    except ValidationError as error:
        raise StrategyError(f"{source}: {_field_errors(error)}") from None


def load_strategy(path: Path) -> StrategySpec:
    """Read and validate the strategy file at ``path`` (YAML, UTF-8).

    Raises:
        StrategyError: the file is missing, is not YAML, or a field is invalid (names the file
            and the field).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StrategyError(f"{path}: no such strategy file") from None
    except UnicodeDecodeError as error:
        raise StrategyError(f"{path}: not UTF-8 text ({error})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise StrategyError(f"{path}: not valid YAML ({error})") from None
    return strategy_from_mapping(data, str(path))


def dump_strategy(spec: StrategySpec) -> str:
    """The spec as YAML that :func:`load_strategy` reads back to an equal spec."""
    return yaml.safe_dump(spec.model_dump(mode="json", exclude_defaults=False), sort_keys=False, allow_unicode=True)
