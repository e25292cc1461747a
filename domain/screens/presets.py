"""Named preset screens (the screener's menu and the alert rules' ``screen:`` names).

A preset names the markets it is meant for in its spec (:attr:`~domain.screens.ScreenSpec.markets`):
the technical screens none (any market: they apply within the markets the user chose), the
fundamental ones ``US`` (their P/E, dividend yield, ROE and leverage come from the US vendor
snapshot and SEC filings), and the Korean ones ``KOSPI`` or ``KOSDAQ``. The Korean presets use
price and volume columns only: the bundled KRX data has no market cap or ratios (a "large caps"
screen needs KRX market caps first).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

from domain.screens.spec import Range, ScreenSpec, Trend

#: Label of the "no preset" entry (all stocks, default sort).
NO_PRESET = "All stocks"

#: One-line description of each preset (shown under the preset menu), in menu order.
PRESET_DESCRIPTIONS: Mapping[str, str] = MappingProxyType(
    {
        NO_PRESET: "No filter: every ticker, largest market cap first.",
        "Oversold above SMA200": "RSI(14) < 30 and close > 200-day SMA (pullback in an uptrend).",
        "New 52-week highs": "Latest session made a new 52-week high.",
        "Golden cross (20d)": "SMA 50 crossed above SMA 200 within the last 20 sessions.",
        "Value: P/E < 15 and dividend yield > 3 %": "P/E under 15 and dividend yield over 3 %.",
        "Momentum": "3-month return > 10 %, 1-year return > 20 %, close above SMA 50 and SMA 200.",
        "Overbought (RSI > 70)": "RSI(14) over 70.",
        "Near 52-week high on heavy volume": "Within 5 % of the 52-week high with relative volume >= 1.5.",
        "Quality (filings): ROE > 15 % and debt/equity < 2": (
            "TTM ROE over 15 % and total liabilities under twice equity, from SEC filings "
            "(companies without filings never match)."
        ),
        "KOSPI 52-week high breakout": "KOSPI: new 52-week high today on at least twice the 20-day average volume.",
        "KOSDAQ oversold": "KOSDAQ: RSI(14) < 30 and stochastic %K < 20 (both oscillators oversold).",
    }
)


@cache
def presets() -> Mapping[str, ScreenSpec]:
    """Named preset screens, in menu order (built on first use: they are validated against the
    column registry)."""
    return MappingProxyType(
        {
            NO_PRESET: ScreenSpec(),
            "Oversold above SMA200": ScreenSpec(
                rsi_14=Range(max=30), vs_sma_200=Trend.ABOVE, sort_by="rsi_14", descending=False
            ),
            "New 52-week highs": ScreenSpec(new_high_52w=True, sort_by="relative_volume"),
            "Golden cross (20d)": ScreenSpec(golden_cross_20d=True, sort_by="return_21d"),
            "Value: P/E < 15 and dividend yield > 3 %": ScreenSpec(
                markets=("US",), pe_ratio=Range(max=15), dividend_yield=Range(min=0.03), sort_by="dividend_yield"
            ),
            "Momentum": ScreenSpec(
                return_63d=Range(min=0.10),
                return_252d=Range(min=0.20),
                vs_sma_50=Trend.ABOVE,
                vs_sma_200=Trend.ABOVE,
                sort_by="return_252d",
            ),
            "Overbought (RSI > 70)": ScreenSpec(rsi_14=Range(min=70), sort_by="rsi_14"),
            "Near 52-week high on heavy volume": ScreenSpec(
                max_below_high_52w=0.05, min_relative_volume=1.5, sort_by="relative_volume"
            ),
            "Quality (filings): ROE > 15 % and debt/equity < 2": ScreenSpec(
                markets=("US",), roe=Range(min=0.15), debt_to_equity=Range(max=2.0), sort_by="roe"
            ),
            "KOSPI 52-week high breakout": ScreenSpec(
                markets=("KOSPI",), new_high_52w=True, min_relative_volume=2.0, sort_by="relative_volume"
            ),
            "KOSDAQ oversold": ScreenSpec(
                markets=("KOSDAQ",), rsi_14=Range(max=30), stoch_k=Range(max=20), sort_by="rsi_14", descending=False
            ),
        }
    )


def preset_names() -> tuple[str, ...]:
    """Preset names in menu order (no registry needed)."""
    return tuple(PRESET_DESCRIPTIONS)


def preset(name: str) -> ScreenSpec:
    """The preset spec called ``name``.

    Raises:
        KeyError: no such preset.
    """
    return presets()[name]
