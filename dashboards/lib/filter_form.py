"""Mapping between the screener's filter widgets (display units) and a :class:`ScreenSpec`.

Every filter widget comes from the column registry (:mod:`domain.screens.columns`): one widget
(or a min/max pair for ``range`` filters) per filter key, labelled with the column's label and
input unit, in the registry's display units: fractions as percent (3 = 3 %), market cap in the
large unit of the screen's currency (USD bn, KRW 억; :func:`domain.screens.large_money_unit`),
everything else plain. The warehouse and the :class:`ScreenSpec` hold warehouse units (fractions,
the market's currency).

The market selector (:data:`KEY_MARKET`) holds one market code or :data:`ALL_MARKETS`. The screen's
currency is that of its markets; over markets of several currencies (``currency`` None) a money
filter cannot be stated in one unit: its widgets are left out of the spec (:func:`money_widget_keys`).

Every widget's label names its field (:func:`widget_label`): a range filter's two inputs are
"RSI 14 over" and "RSI 14 under", not a bare "over"/"under", so a screen reader announces which
field an input belongs to; :func:`form_labels` lists them all (unique).

Widget values live in ``st.session_state`` under :func:`widget_keys`. :func:`widget_values`
gives the values that show a spec (used to apply a preset), :func:`spec_from_widgets` reads them
back. Both are pure functions, testable without Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.screens import Range, Registry, ScreenerColumn, ScreenSpec, Trend, registry

KEY_TEXT = "scr_text"
KEY_MARKET = "scr_market"
KEY_SECTORS = "scr_sectors"
KEY_SORT_BY = "scr_sort_by"
KEY_SORT_DESC = "scr_sort_desc"

LABEL_TEXT = "Ticker or company contains"
LABEL_MARKET = "Market"
LABEL_SECTORS = "Sector"
#: The market selector's entry for every market (an empty market list in the spec).
ALL_MARKETS = "All markets"
#: The word after the field name in a range filter's two inputs (open interval).
BOUND_WORDS = {"min": "over", "max": "under"}


def widget_key(column: ScreenerColumn, bound: str | None = None) -> str:
    """Session-state key of a filter's widget (``bound`` ``min``/``max`` for range filters)."""
    key = f"scr_{column.filter_key}"
    return f"{key}_{bound}" if bound else key


def lower_first(label: str) -> str:
    """``Relative volume`` -> ``relative volume``; acronyms (``RSI 14``) stay as they are."""
    return label[0].lower() + label[1:] if len(label) > 1 and label[1].islower() else label


def _bounds(column: ScreenerColumn) -> tuple[str | None, ...]:
    """The bounds of a filter's widgets: ``min`` and ``max`` for a range, else one widget."""
    return ("min", "max") if column.filter == "range" else (None,)


def is_money_filter(column: ScreenerColumn) -> bool:
    """True when the filter's value is an amount of money (a range or minimum on a money column:
    market cap), stated in the screen's currency; a trend filter (close vs SMA) compares two
    prices of one row and has no currency."""
    return column.is_money and column.filter in ("range", "minimum")


def money_widget_keys(reg: Registry | None = None) -> tuple[str, ...]:
    """Session-state keys of the widgets of money filters (:func:`is_money_filter`): their values
    are in the screen's currency."""
    reg = reg or registry()
    return tuple(widget_key(c, bound) for c in reg.filters.values() if is_money_filter(c) for bound in _bounds(c))


def widget_label(column: ScreenerColumn, bound: str | None = None, currency: str | None = "USD") -> str:
    """The label of a filter's widget, naming its field (with the input unit when not plain; a
    money input's unit is that of ``currency``): ``range`` -> ``RSI 14 over`` (``bound="min"``) /
    ``RSI 14 under`` (``bound="max"``), ``Market cap (KRW 억) over``, ``trend`` -> ``Close vs SMA
    50``, ``flag`` -> the column label, ``minimum`` -> ``Min relative volume``, ``max_below`` ->
    ``Distance from 52-week high (%): at most this far below``.

    Raises:
        ValueError: ``bound`` is not ``min``/``max`` for a range filter, or given for another kind,
            or the column has no filter.
    """
    if column.filter == "range":
        if bound not in BOUND_WORDS:
            raise ValueError(f"bound of range filter {column.filter_key!r} must be 'min' or 'max', got {bound!r}")
        return f"{column.input_label_in(currency)} {BOUND_WORDS[bound]}"
    if bound is not None:
        raise ValueError(
            f"bound given for the {column.filter} filter {column.filter_key!r}: only range filters have bounds"
        )
    if column.filter == "trend":
        return f"Close vs {column.label}"
    if column.filter == "flag":
        return column.label
    if column.filter == "minimum":
        return f"Min {lower_first(column.input_label_in(currency))}"
    if column.filter == "max_below":
        return f"{column.input_label_in(currency)}: at most this far below"
    raise ValueError(f"column {column.name!r} has no filter")


def form_labels(reg: Registry | None = None, currency: str | None = "USD") -> dict[str, str]:
    """Widget key -> label of every widget of the filter form (text, market, sectors, then one per
    filter or range bound, in form order) in a screen of ``currency``; the labels are unique."""
    reg = reg or registry()
    labels = {KEY_TEXT: LABEL_TEXT, KEY_MARKET: LABEL_MARKET, KEY_SECTORS: LABEL_SECTORS}
    for column in reg.filters.values():
        for bound in _bounds(column):
            labels[widget_key(column, bound)] = widget_label(column, bound, currency)
    return labels


def widget_keys(reg: Registry | None = None) -> tuple[str, ...]:
    """Every filter and sort widget key, in form order."""
    reg = reg or registry()
    keys: list[str] = [KEY_TEXT, KEY_MARKET, KEY_SECTORS]
    for column in reg.filters.values():
        if column.filter == "range":
            keys += [widget_key(column, "min"), widget_key(column, "max")]
        else:
            keys.append(widget_key(column))
    return (*keys, KEY_SORT_BY, KEY_SORT_DESC)


def market_choice(markets: tuple[str, ...]) -> str | None:
    """The market selector's value for a spec's ``markets``: the one market, :data:`ALL_MARKETS`
    for none (every market), None for several (a spec the selector cannot show)."""
    if not markets:
        return ALL_MARKETS
    return markets[0] if len(markets) == 1 else None


def widget_values(
    spec: ScreenSpec, available_sectors: list[str] | None = None, currency: str | None = "USD"
) -> dict[str, Any]:
    """Widget values (display units; money in ``currency``, left empty when None) that represent
    ``spec``. The market selector's value is there only when ``spec`` names markets (a preset for
    any market keeps the user's choice).

    Sectors not in ``available_sectors`` (when given) are dropped, since a multiselect cannot
    hold unknown options.

    Raises:
        ValueError: ``spec`` names several markets (the selector holds one, or all).
    """
    sectors = list(spec.sectors)
    if available_sectors is not None:
        sectors = [s for s in sectors if s in available_sectors]
    values: dict[str, Any] = {KEY_TEXT: spec.text, KEY_SECTORS: sectors}
    if spec.markets:
        choice = market_choice(spec.markets)
        if choice is None:
            raise ValueError(f"the market selector holds one market or all, not {', '.join(spec.markets)}")
        values[KEY_MARKET] = choice
    for key, column in spec.registry.filters.items():
        value = getattr(spec, key)
        if is_money_filter(column) and currency is None:
            values |= {widget_key(column, bound): None for bound in _bounds(column)}
        elif column.filter == "range":
            values[widget_key(column, "min")] = column.to_input(value.min, currency or "USD")
            values[widget_key(column, "max")] = column.to_input(value.max, currency or "USD")
        elif column.filter == "trend":
            values[widget_key(column)] = value.value
        elif column.filter == "flag":
            values[widget_key(column)] = value
        else:
            values[widget_key(column)] = column.to_input(value) if value is not None else None
            if value is not None and column.unit == "count":
                values[widget_key(column)] = int(value)
    values[KEY_SORT_BY] = spec.sort_by
    values[KEY_SORT_DESC] = spec.descending
    return values


def spec_from_widgets(
    values: Mapping[str, Any], reg: Registry | None = None, currency: str | None = "USD"
) -> ScreenSpec:
    """Build the spec the widgets show (display units -> warehouse units; money inputs in
    ``currency``, ignored when None).

    Missing keys mean "no filter"; a missing market means every market.

    Raises:
        ValueError, TypeError: inconsistent input (e.g. a minimum above its maximum).
    """
    reg = reg or registry()
    filters: dict[str, Any] = {}
    for key, column in reg.filters.items():
        if is_money_filter(column) and currency is None:
            continue
        if column.filter == "range":
            filters[key] = Range(
                min=column.from_input(values.get(widget_key(column, "min")), currency or "USD"),
                max=column.from_input(values.get(widget_key(column, "max")), currency or "USD"),
            )
        elif column.filter == "trend":
            filters[key] = Trend(values.get(widget_key(column)) or Trend.ANY)
        elif column.filter == "flag":
            filters[key] = bool(values.get(widget_key(column), False))
        else:
            raw = values.get(widget_key(column))
            filters[key] = raw if column.unit == "count" else column.from_input(raw)
    market = values.get(KEY_MARKET) or ALL_MARKETS
    return ScreenSpec(
        text=str(values.get(KEY_TEXT) or ""),
        markets=() if market == ALL_MARKETS else (market,),
        sectors=tuple(values.get(KEY_SECTORS) or ()),
        sort_by=values.get(KEY_SORT_BY) or "market_cap",
        descending=bool(values.get(KEY_SORT_DESC, True)),
        _registry=reg,
        **filters,
    )
