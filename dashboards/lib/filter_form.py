"""Mapping between the screener's filter widgets (display units) and a :class:`ScreenSpec`.

The widgets show friendlier units than the warehouse stores:

=====================  ===================  ====================
filter                 widget (display)     spec / SQL
=====================  ===================  ====================
market cap             USD billions         USD
dividend yield         percent (3 = 3 %)    fraction (0.03)
ROE, net margin,       percent              fraction
revenue growth YoY
returns 1d ... 252d    percent              fraction
max below 52w high     percent              fraction
P/E, P/B, debt/equity, plain               plain
RSI, rel vol
news count, sentiment  plain                plain
=====================  ===================  ====================

Widget values live in ``st.session_state`` under the keys of :data:`WIDGET_KEYS`.
:func:`widget_values` gives the values that show a spec (used to apply a
preset), :func:`spec_from_widgets` reads them back. Both are pure functions so
they are testable without Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from dashboards.lib.screens import RETURN_WINDOWS, Range, ScreenSpec, Trend

Unit = Literal["usd_bn", "pct", "plain"]


def to_warehouse(value: float | None, unit: Unit) -> float | None:
    """Display units -> warehouse units (USD bn -> USD, % -> fraction)."""
    if value is None:
        return None
    if unit == "usd_bn":
        return float(value) * 1e9
    if unit == "pct":
        return float(value) / 100
    return float(value)


def to_display(value: float | None, unit: Unit) -> float | None:
    """Warehouse units -> display units (rounded to 10 decimals to undo float noise)."""
    if value is None:
        return None
    if unit == "usd_bn":
        return round(float(value) / 1e9, 10)
    if unit == "pct":
        return round(float(value) * 100, 10)
    return float(value)


@dataclass(frozen=True)
class RangeField:
    """A min/max pair of number inputs bound to one :class:`Range` field of the spec."""

    spec_field: str
    key: str
    label: str
    unit: Unit
    step: float

    @property
    def min_key(self) -> str:
        return f"{self.key}_min"

    @property
    def max_key(self) -> str:
        return f"{self.key}_max"


#: Range filters in form order (fundamentals, technicals, returns).
RANGE_FIELDS: tuple[RangeField, ...] = (
    RangeField("market_cap", "scr_mcap", "Market cap (USD bn)", "usd_bn", 1.0),
    RangeField("pe_ratio", "scr_pe", "P/E", "plain", 1.0),
    RangeField("pb_ratio", "scr_pb", "P/B", "plain", 0.5),
    RangeField("dividend_yield", "scr_div", "Dividend yield (%)", "pct", 0.5),
    RangeField("roe", "scr_roe", "ROE, TTM (%)", "pct", 1.0),
    RangeField("debt_to_equity", "scr_de", "Debt / equity", "plain", 0.1),
    RangeField("net_margin", "scr_margin", "Net margin, TTM (%)", "pct", 1.0),
    RangeField("revenue_growth_yoy", "scr_growth", "Revenue growth YoY (%)", "pct", 1.0),
    RangeField("rsi_14", "scr_rsi", "RSI (14)", "plain", 5.0),
    *(RangeField(f"return_{w}", f"scr_ret_{w}", f"Return {w} (%)", "pct", 1.0) for w in RETURN_WINDOWS),
    RangeField("news_sentiment_7d", "scr_news_sent", "News sentiment, 7 days (-1..1)", "plain", 0.1),
)

KEY_TEXT = "scr_text"
KEY_SECTORS = "scr_sectors"
KEY_SMA50 = "scr_sma50"
KEY_SMA200 = "scr_sma200"
KEY_BELOW_HIGH = "scr_below_high_max"  # percent
KEY_RELVOL = "scr_relvol_min"
KEY_NEW_HIGH = "scr_new_high"
KEY_GOLDEN = "scr_golden_cross"
KEY_NEWS_MIN = "scr_news_min"  # articles in the last 7 days
KEY_SORT_BY = "scr_sort_by"
KEY_SORT_DESC = "scr_sort_desc"

#: Every filter/sort widget key.
WIDGET_KEYS: tuple[str, ...] = (
    KEY_TEXT,
    KEY_SECTORS,
    *(k for f in RANGE_FIELDS for k in (f.min_key, f.max_key)),
    KEY_SMA50,
    KEY_SMA200,
    KEY_BELOW_HIGH,
    KEY_RELVOL,
    KEY_NEW_HIGH,
    KEY_GOLDEN,
    KEY_NEWS_MIN,
    KEY_SORT_BY,
    KEY_SORT_DESC,
)


def widget_values(spec: ScreenSpec, available_sectors: list[str] | None = None) -> dict[str, Any]:
    """Widget values (display units) that represent ``spec``.

    Sectors not in ``available_sectors`` (when given) are dropped, since a
    multiselect cannot hold unknown options.
    """
    sectors = list(spec.sectors)
    if available_sectors is not None:
        sectors = [s for s in sectors if s in available_sectors]
    values: dict[str, Any] = {KEY_TEXT: spec.text, KEY_SECTORS: sectors}
    for f in RANGE_FIELDS:
        rng: Range = getattr(spec, f.spec_field)
        values[f.min_key] = to_display(rng.min, f.unit)
        values[f.max_key] = to_display(rng.max, f.unit)
    values[KEY_SMA50] = spec.vs_sma_50.value
    values[KEY_SMA200] = spec.vs_sma_200.value
    values[KEY_BELOW_HIGH] = to_display(spec.max_below_high_52w, "pct")
    values[KEY_RELVOL] = spec.min_relative_volume
    values[KEY_NEW_HIGH] = spec.new_high_52w
    values[KEY_GOLDEN] = spec.golden_cross_20d
    values[KEY_NEWS_MIN] = spec.min_news_count_7d
    values[KEY_SORT_BY] = spec.sort_by
    values[KEY_SORT_DESC] = spec.descending
    return values


def spec_from_widgets(values: Mapping[str, Any]) -> ScreenSpec:
    """Build the spec the widgets show (display units -> warehouse units).

    Missing keys mean "no filter". Raises ``ValueError``/``TypeError`` for
    inconsistent input (e.g. a minimum above its maximum).
    """
    ranges = {
        f.spec_field: Range(
            min=to_warehouse(values.get(f.min_key), f.unit),
            max=to_warehouse(values.get(f.max_key), f.unit),
        )
        for f in RANGE_FIELDS
    }
    return ScreenSpec(
        text=str(values.get(KEY_TEXT) or ""),
        sectors=tuple(values.get(KEY_SECTORS) or ()),
        vs_sma_50=Trend(values.get(KEY_SMA50) or Trend.ANY),
        vs_sma_200=Trend(values.get(KEY_SMA200) or Trend.ANY),
        max_below_high_52w=to_warehouse(values.get(KEY_BELOW_HIGH), "pct"),
        min_relative_volume=to_warehouse(values.get(KEY_RELVOL), "plain"),
        new_high_52w=bool(values.get(KEY_NEW_HIGH, False)),
        golden_cross_20d=bool(values.get(KEY_GOLDEN, False)),
        min_news_count_7d=values.get(KEY_NEWS_MIN),
        sort_by=values.get(KEY_SORT_BY) or "market_cap",
        descending=bool(values.get(KEY_SORT_DESC, True)),
        **ranges,
    )
