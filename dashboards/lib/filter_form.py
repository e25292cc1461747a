"""Mapping between the screener's filter widgets (display units) and a :class:`ScreenSpec`.

Every filter widget comes from the column registry (:mod:`domain.screens.columns`): one widget
(or a min/max pair for ``range`` filters) per filter key, labelled with the column's label and
input unit, in the registry's display units: fractions as percent (3 = 3 %), market cap in USD
billions, everything else plain. The warehouse and the :class:`ScreenSpec` hold warehouse units
(fractions, USD).

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
KEY_SECTORS = "scr_sectors"
KEY_SORT_BY = "scr_sort_by"
KEY_SORT_DESC = "scr_sort_desc"

LABEL_TEXT = "Ticker or company contains"
LABEL_SECTORS = "Sector"
#: The word after the field name in a range filter's two inputs (open interval).
BOUND_WORDS = {"min": "over", "max": "under"}


def widget_key(column: ScreenerColumn, bound: str | None = None) -> str:
    """Session-state key of a filter's widget (``bound`` ``min``/``max`` for range filters)."""
    key = f"scr_{column.filter_key}"
    return f"{key}_{bound}" if bound else key


def lower_first(label: str) -> str:
    """``Relative volume`` -> ``relative volume``; acronyms (``RSI 14``) stay as they are."""
    return label[0].lower() + label[1:] if len(label) > 1 and label[1].islower() else label


def widget_label(column: ScreenerColumn, bound: str | None = None) -> str:
    """The label of a filter's widget, naming its field (with the input unit when not plain):
    ``range`` -> ``RSI 14 over`` (``bound="min"``) / ``RSI 14 under`` (``bound="max"``),
    ``trend`` -> ``Close vs SMA 50``, ``flag`` -> the column label, ``minimum`` -> ``Min
    relative volume``, ``max_below`` -> ``Distance from 52-week high (%): at most this far below``.

    Raises:
        ValueError: ``bound`` is not ``min``/``max`` for a range filter, or given for another kind,
            or the column has no filter.
    """
    if column.filter == "range":
        if bound not in BOUND_WORDS:
            raise ValueError(f"bound of range filter {column.filter_key!r} must be 'min' or 'max', got {bound!r}")
        return f"{column.input_label} {BOUND_WORDS[bound]}"
    if bound is not None:
        raise ValueError(
            f"bound given for the {column.filter} filter {column.filter_key!r}: only range filters have bounds"
        )
    if column.filter == "trend":
        return f"Close vs {column.label}"
    if column.filter == "flag":
        return column.label
    if column.filter == "minimum":
        return f"Min {lower_first(column.input_label)}"
    if column.filter == "max_below":
        return f"{column.input_label}: at most this far below"
    raise ValueError(f"column {column.name!r} has no filter")


def form_labels(reg: Registry | None = None) -> dict[str, str]:
    """Widget key -> label of every widget of the filter form (text, sectors, then one per filter
    or range bound, in form order); the labels are unique."""
    reg = reg or registry()
    labels = {KEY_TEXT: LABEL_TEXT, KEY_SECTORS: LABEL_SECTORS}
    for column in reg.filters.values():
        for bound in ("min", "max") if column.filter == "range" else (None,):
            labels[widget_key(column, bound)] = widget_label(column, bound)
    return labels


def widget_keys(reg: Registry | None = None) -> tuple[str, ...]:
    """Every filter and sort widget key, in form order."""
    reg = reg or registry()
    keys: list[str] = [KEY_TEXT, KEY_SECTORS]
    for column in reg.filters.values():
        if column.filter == "range":
            keys += [widget_key(column, "min"), widget_key(column, "max")]
        else:
            keys.append(widget_key(column))
    return (*keys, KEY_SORT_BY, KEY_SORT_DESC)


def widget_values(spec: ScreenSpec, available_sectors: list[str] | None = None) -> dict[str, Any]:
    """Widget values (display units) that represent ``spec``.

    Sectors not in ``available_sectors`` (when given) are dropped, since a multiselect cannot
    hold unknown options.
    """
    sectors = list(spec.sectors)
    if available_sectors is not None:
        sectors = [s for s in sectors if s in available_sectors]
    values: dict[str, Any] = {KEY_TEXT: spec.text, KEY_SECTORS: sectors}
    for key, column in spec.registry.filters.items():
        value = getattr(spec, key)
        if column.filter == "range":
            values[widget_key(column, "min")] = column.to_input(value.min)
            values[widget_key(column, "max")] = column.to_input(value.max)
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


def spec_from_widgets(values: Mapping[str, Any], reg: Registry | None = None) -> ScreenSpec:
    """Build the spec the widgets show (display units -> warehouse units).

    Missing keys mean "no filter".

    Raises:
        ValueError, TypeError: inconsistent input (e.g. a minimum above its maximum).
    """
    reg = reg or registry()
    filters: dict[str, Any] = {}
    for key, column in reg.filters.items():
        if column.filter == "range":
            filters[key] = Range(
                min=column.from_input(values.get(widget_key(column, "min"))),
                max=column.from_input(values.get(widget_key(column, "max"))),
            )
        elif column.filter == "trend":
            filters[key] = Trend(values.get(widget_key(column)) or Trend.ANY)
        elif column.filter == "flag":
            filters[key] = bool(values.get(widget_key(column), False))
        else:
            raw = values.get(widget_key(column))
            filters[key] = raw if column.unit == "count" else column.from_input(raw)
    return ScreenSpec(
        text=str(values.get(KEY_TEXT) or ""),
        sectors=tuple(values.get(KEY_SECTORS) or ()),
        sort_by=values.get(KEY_SORT_BY) or "market_cap",
        descending=bool(values.get(KEY_SORT_DESC, True)),
        _registry=reg,
        **filters,
    )
