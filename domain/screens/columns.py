"""The registry of screener columns: declared once, in the dbt YAML of ``mart_screener_latest``.

Every column of ``marts.mart_screener_latest`` that the product shows, filters, sorts or alerts
on carries a ``meta: {screener: {...}}`` block beside its description in
``dbt_project/models/marts/**/mart_screener_latest.yml``. This module reads those blocks into
:class:`ScreenerColumn` values; the screen model (:mod:`domain.screens.spec`), its SQL compiler,
the app's filter form, result table, CSV, sort list and stock page, and the alert rules all
derive from them. Adding an indicator to the screener means: its SQL, its YAML column (with the
``meta.screener`` block), nothing else.

The ``meta.screener`` keys:

==============  ==================================================================================
label           the one name shown everywhere (form, table header, sort list, stock page, alerts)
unit            ``text``, ``date``, ``usd`` (money), ``usd_per_share`` (prices, EPS), ``fraction``
                (0.03 = 3 %), ``ratio`` (plain number), ``index`` (0-100 oscillators), ``count``,
                ``shares``, ``score`` (-1..1), ``flag`` (boolean). The two money units
                (:data:`MONEY_UNITS`) are amounts in the currency of the row's market (USD, KRW;
                :mod:`domain.markets`): their names date from when every market was American.
format          display format of a number: ``dollar``, ``percent``, ``compact``, or printf such as
                ``%.2f`` (default by unit)
filter          ``range`` (open interval ``min < x < max``, key = the column), ``minimum``
                (``x >= v``, key ``min_<column>``), ``flag`` (must be true, key = the column),
                ``trend`` (close above/below the column, key ``vs_<column>``), ``max_below``
                (``x >= -v``: at most ``v`` below, key given by ``filter_key``); absent = no filter
filter_key      the spec/YAML name of the filter when it is not derived as above
input           unit of the form's number input: ``percent`` (fractions, default for them),
                ``billions`` (large money amounts in the unit of :data:`LARGE_MONEY_UNITS` for
                the currency: USD bn, KRW 억) or ``plain`` (default)
step            step of the form's number input (display units)
group           form section: ``identity``, ``fundamentals``, ``filings``, ``technicals``,
                ``returns``, ``news``
sort            ``true``: a sort key of the screener
result          ``false``: not a column of the result table (default ``true``)
alert           ``true``: usable by the ``indicator_above`` / ``indicator_below`` alert rules
==============  ==================================================================================

Columns appear in YAML order. The YAML is read once per process (:func:`registry`).

Raises (on load): :class:`RegistryError` naming the file, column and key of a bad entry.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

from domain.settings import DBT_PROJECT_DIR

MODEL = "mart_screener_latest"

Unit = Literal["text", "date", "usd", "usd_per_share", "fraction", "ratio", "index", "count", "shares", "score", "flag"]
FilterKind = Literal["range", "minimum", "flag", "trend", "max_below"]
InputUnit = Literal["percent", "billions", "plain"]
Group = Literal["identity", "fundamentals", "filings", "technicals", "returns", "news"]

UNITS: tuple[str, ...] = Unit.__args__  # type: ignore[attr-defined]
FILTER_KINDS: tuple[str, ...] = FilterKind.__args__  # type: ignore[attr-defined]
INPUT_UNITS: tuple[str, ...] = InputUnit.__args__  # type: ignore[attr-defined]
GROUPS: tuple[str, ...] = Group.__args__  # type: ignore[attr-defined]

_DEFAULT_FORMAT: Mapping[str, str | None] = {
    "usd": "compact", "usd_per_share": "dollar", "fraction": "percent", "ratio": "%.2f", "index": "%.1f",
    "count": "%d", "shares": "compact", "score": "%.2f", "text": None, "date": None, "flag": None,
}  # fmt: skip
#: Units whose values are money, stated in the currency of the row's market.
MONEY_UNITS: tuple[str, ...] = ("usd", "usd_per_share")

#: The unit a reader of each currency takes large amounts (market caps) in, as ``(size, label)``:
#: US dollars in billions; Korean won in 억 (10^8), as Korean screeners list and filter market
#: caps. A currency without an entry is taken in billions (``<code> bn``).
LARGE_MONEY_UNITS: Mapping[str, tuple[float, str]] = {"USD": (1e9, "USD bn"), "KRW": (1e8, "KRW 억")}

_INPUT_FACTOR: Mapping[str, float] = {"percent": 100.0, "plain": 1.0}
_INPUT_LABEL: Mapping[str, str] = {"percent": "%", "plain": ""}


def large_money_unit(currency: str) -> tuple[float, str]:
    """``(size, label)`` of the unit large amounts in ``currency`` are entered in (see
    :data:`LARGE_MONEY_UNITS`), e.g. ``(1e8, "KRW 억")``."""
    return LARGE_MONEY_UNITS.get(currency, (1e9, f"{currency} bn"))


class RegistryError(ValueError):
    """A ``meta.screener`` block is invalid (the message names file, column and key)."""


@dataclass(frozen=True)
class ScreenerColumn:
    """One registered column of ``mart_screener_latest`` (see the module docstring)."""

    name: str
    label: str
    description: str
    unit: Unit
    format: str | None
    group: Group
    filter: FilterKind | None = None
    filter_key: str | None = None
    input: InputUnit = "plain"
    step: float = 1.0
    sort: bool = False
    result: bool = True
    alert: bool = False

    @property
    def is_money(self) -> bool:
        """True for money columns (:data:`MONEY_UNITS`): amounts in the row's market's currency."""
        return self.unit in MONEY_UNITS

    @property
    def input_label(self) -> str:
        """The form label of a US-dollar screen: :meth:`input_label_in` ``USD``."""
        return self.input_label_in("USD")

    def input_label_in(self, currency: str | None) -> str:
        """The form label: the column's label, with the input unit when it is not plain
        (``Dividend yield (%)``, ``Market cap (USD bn)``, ``Market cap (KRW 억)``); a
        ``billions`` input without a ``currency`` (a screen over several currencies) has no unit."""
        if self.input == "billions":
            unit = large_money_unit(currency)[1] if currency else ""
        else:
            unit = _INPUT_LABEL[self.input]
        return f"{self.label} ({unit})" if unit else self.label

    def to_input(self, value: float | None, currency: str = "USD") -> float | None:
        """Warehouse units -> the form's input units (rounded to 10 decimals to undo float noise);
        ``currency`` is that of the amounts of a ``billions`` input."""
        if value is None:
            return None
        if self.input == "billions":
            return round(float(value) / large_money_unit(currency)[0], 10)
        return round(float(value) * _INPUT_FACTOR[self.input], 10)

    def from_input(self, value: float | None, currency: str = "USD") -> float | None:
        """The form's input units -> warehouse units (percent -> fraction, USD bn -> USD, KRW 억 -> KRW)."""
        if value is None:
            return None
        if self.input == "billions":
            return float(value) * large_money_unit(currency)[0]
        return float(value) / _INPUT_FACTOR[self.input]


@dataclass(frozen=True)
class Registry:
    """The registered columns, in YAML order, with lookups by column name and filter key."""

    columns: tuple[ScreenerColumn, ...]
    source: Path

    def __iter__(self) -> Iterator[ScreenerColumn]:
        return iter(self.columns)

    def __getitem__(self, name: str) -> ScreenerColumn:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{name!r} is not a registered screener column ({self.source})")

    def __contains__(self, name: object) -> bool:
        return any(column.name == name for column in self.columns)

    @property
    def names(self) -> tuple[str, ...]:
        """Every registered column name."""
        return tuple(c.name for c in self.columns)

    @property
    def result_columns(self) -> tuple[str, ...]:
        """Columns of a screen's result table and CSV, in order."""
        return tuple(c.name for c in self.columns if c.result)

    @property
    def sort_columns(self) -> dict[str, str]:
        """Sort keys -> labels (the whitelist the SQL compiler checks)."""
        return {c.name: c.label for c in self.columns if c.sort}

    @property
    def filters(self) -> dict[str, ScreenerColumn]:
        """Filter key -> column, for every filterable column."""
        return {c.filter_key: c for c in self.columns if c.filter is not None and c.filter_key is not None}

    @property
    def alert_columns(self) -> dict[str, ScreenerColumn]:
        """Columns the ``indicator_above``/``indicator_below`` alert rules may watch."""
        return {c.name: c for c in self.columns if c.alert}

    def in_group(self, group: str) -> tuple[ScreenerColumn, ...]:
        """The columns of one form section, in order."""
        return tuple(c for c in self.columns if c.group == group)


def _filter_key(name: str, kind: str | None, explicit: Any, where: str) -> str | None:
    if kind is None:
        if explicit is not None:
            raise RegistryError(f"{where}, key 'filter_key': set without a filter")
        return None
    derived = {"range": name, "minimum": f"min_{name}", "flag": name, "trend": f"vs_{name}"}.get(kind)
    if explicit is None:
        if derived is None:
            raise RegistryError(f"{where}, key 'filter_key': required by filter {kind}")
        return derived
    if not isinstance(explicit, str) or not explicit.isidentifier():
        raise RegistryError(f"{where}, key 'filter_key': must be an identifier, got {explicit!r}")
    return explicit


def _column(name: str, description: str, meta: Mapping[str, Any], where: str) -> ScreenerColumn:
    known = {"label", "unit", "format", "group", "filter", "filter_key", "input", "step", "sort", "result", "alert"}
    unknown = set(meta) - known
    if unknown:
        raise RegistryError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(known)}")

    def choice(key: str, allowed: tuple[str, ...], default: Any = ...) -> Any:
        value = meta.get(key, default)
        if value is ...:
            raise RegistryError(f"{where}, key {key!r}: required")
        if value is not None and value not in allowed:
            raise RegistryError(f"{where}, key {key!r}: {value!r} is not one of {', '.join(allowed)}")
        return value

    def flag(key: str, default: bool) -> bool:
        value = meta.get(key, default)
        if not isinstance(value, bool):
            raise RegistryError(f"{where}, key {key!r}: must be true or false, got {value!r}")
        return value

    label = meta.get("label")
    if not isinstance(label, str) or not label.strip():
        raise RegistryError(f"{where}, key 'label': required (the name shown in the app)")
    unit = choice("unit", UNITS)
    kind = choice("filter", FILTER_KINDS, None)
    input_unit = choice("input", INPUT_UNITS, "percent" if unit == "fraction" else "plain")
    step = meta.get("step", 1.0)
    if isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0:
        raise RegistryError(f"{where}, key 'step': must be a number > 0, got {step!r}")
    if kind == "flag" and unit != "flag":
        raise RegistryError(f"{where}, key 'filter': a flag filter needs unit flag")
    alert = flag("alert", False)
    if alert and unit in ("text", "date", "flag"):
        raise RegistryError(f"{where}, key 'alert': only numeric columns can be alerted on")
    fmt = meta.get("format", _DEFAULT_FORMAT[unit])
    if fmt is not None and not isinstance(fmt, str):
        raise RegistryError(f"{where}, key 'format': must be text, got {fmt!r}")
    return ScreenerColumn(
        name=name,
        label=label.strip(),
        description=" ".join(str(description or "").split()),
        unit=unit,
        format=fmt,
        group=choice("group", GROUPS),
        filter=kind,
        filter_key=_filter_key(name, kind, meta.get("filter_key"), where),
        input=input_unit,
        step=float(step),
        sort=flag("sort", False),
        result=flag("result", True),
        alert=alert,
    )


def model_yaml(project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """The YAML file that documents ``mart_screener_latest`` in the dbt project.

    Raises:
        RegistryError: none, or more than one, found under ``models/``.
    """
    found = sorted((project_dir / "models").rglob(f"{MODEL}.yml"))
    if len(found) != 1:
        raise RegistryError(f"expected one {MODEL}.yml under {project_dir / 'models'}, found {len(found)}")
    return found[0]


def load_registry(path: Path) -> Registry:
    """Read the ``meta.screener`` blocks of the model YAML at ``path``.

    Raises:
        RegistryError: a bad block (names file, column and key), a duplicate filter key, or no
            registered column at all.
    """
    document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    models = [m for m in document.get("models", []) if m.get("name") == MODEL]
    if len(models) != 1:
        raise RegistryError(f"{path}: expected one model named {MODEL}")
    columns = []
    keys: dict[str, str] = {}
    for item in models[0].get("columns", []):
        meta = (item.get("meta") or {}).get("screener")
        if meta is None:
            continue
        where = f"{path}, column {item['name']!r}, meta.screener"
        if not isinstance(meta, Mapping):
            raise RegistryError(f"{where}: must be a mapping")
        column = _column(item["name"], item.get("description", ""), meta, where)
        if column.filter_key is not None:
            if column.filter_key in keys:
                raise RegistryError(f"{where}: filter key {column.filter_key!r} also used by {keys[column.filter_key]!r}")
            keys[column.filter_key] = column.name
        columns.append(column)
    if not columns:
        raise RegistryError(f"{path}: no column has a meta.screener block")
    return Registry(columns=tuple(columns), source=Path(path))


@cache
def registry() -> Registry:
    """The registry of the project's dbt YAML (read once per process)."""
    return load_registry(model_yaml())
