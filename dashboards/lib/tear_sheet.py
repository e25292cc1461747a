"""The HTML tear sheet of a backtest run, and the survivorship statement of the bundled universes.

:func:`tear_sheet_html` returns one self-contained HTML document (UTF-8): it works offline, with
plotly.js inlined once (the first figure's ``to_html(include_plotlyjs=True)``; no ``<script
src=...>``, no CDN), and holds:

1. the strategy's name, market, benchmark, sessions and the data build;
2. the survivorship statement (:func:`survivorship_statement`);
3. the metrics table (:func:`dashboards.lib.backtest_charts.metrics_table`: fractions in percent,
   the drawdown's sessions as dates);
4. equity vs benchmark, drawdown, monthly returns heatmap and rolling 12-month Sharpe (plotly);
5. the monthly returns table (year x month, percent);
6. the holdings of the last rebalance (company names as listed, Korean ones included; prices,
   adjusted, in the market's currency);
7. the strategy file (YAML, :func:`domain.backtests.spec.dump_strategy`).

No Streamlit: the page passes the string to ``st.download_button``; tests read it directly.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from datetime import datetime

import pandas as pd

from dashboards.lib import backtest_charts as charts
from dashboards.lib import formatting as fmt
from dashboards.lib.portfolio_charts import benchmark_label
from domain.backtests.run import BacktestResult
from domain.backtests.spec import MARKET_GROUPS, StrategySpec, dump_strategy
from domain.screens import registry

#: What each bundled universe leaves out (the price files' own universes, see docs/backtests.md).
SURVIVORSHIP_BY_UNIVERSE: Mapping[str, str] = {
    "US": (
        "The US universe is the S&P 500 as of February 2018 (the bundled file): companies that left "
        "the index or were delisted before then are absent."
    ),
    "KRX": (
        "The KOSPI and KOSDAQ universe is the KRX listing of 2022-05-16: the 472 companies delisted "
        "between 2018-01-02 and 2022-05-16 are absent."
    ),
}
SURVIVORSHIP_CONCLUSION = (
    "Survivorship bias: backtests on these universes overstate what a screen would have earned; read every result so."
)


def survivorship_statement(markets: Iterable[str] = ("US", "KOSPI", "KOSDAQ")) -> str:
    """The survivorship statement of the universes of ``markets`` (screener market codes: ``US``,
    ``KOSPI``, ``KOSDAQ``; default every bundled one): what each universe leaves out, then the
    conclusion :data:`SURVIVORSHIP_CONCLUSION`."""
    codes = set(markets)
    universes = [u for u in SURVIVORSHIP_BY_UNIVERSE if codes & set(MARKET_GROUPS.get(u, (u,)))]
    return " ".join([*(SURVIVORSHIP_BY_UNIVERSE[u] for u in universes), SURVIVORSHIP_CONCLUSION])


_STYLE = """
body { font-family: -apple-system, "Segoe UI", Roboto, "Noto Sans KR", "Noto Sans CJK KR", sans-serif;
       margin: 2em auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
pre { background: #f7f7f7; padding: 1em; }
.note { background: #fff6e0; border-left: 4px solid #f0a500; padding: 0.6em 1em; }
"""


def _table(frame: pd.DataFrame, index: bool = False) -> str:
    return frame.to_html(index=index, escape=True, na_rep="", border=0)


def _monthly_text(table: pd.DataFrame) -> pd.DataFrame:
    shown = table.map(lambda v: "" if pd.isna(v) else fmt.pct(v, 1))
    shown.index = [str(y) for y in table.index]
    return shown


def _holdings_text(holdings: pd.DataFrame, spec: StrategySpec) -> pd.DataFrame:
    """The holdings as text: the ranking column in its unit (fractions in percent), prices in the
    currency of the strategy's market (plain numbers over markets of several currencies)."""
    column = registry()[spec.rank_by]
    currencies = {fmt.market_currency(code) for code in spec.markets}
    currency = currencies.pop() if len(currencies) == 1 else None

    def price(value: object) -> str:
        return fmt.money(value, currency) if currency else fmt.number(value, 4)

    def signal(value: object) -> str:
        return fmt.pct(value) if column.unit == "fraction" else fmt.number(value, 4)

    return pd.DataFrame(
        {
            "Rank": holdings["rank"].map(lambda v: fmt.number(v, 0)),
            "Ticker": holdings["ticker"],
            "Company": holdings["company_name"].map(fmt.text),
            column.label: holdings["rank_value"].map(signal),
            "Target weight": holdings["target_weight"].map(fmt.pct),
            "Bought": holdings["bought"].map(lambda b: "yes" if b else "no"),
            "Entry (open)": holdings["entry_price"].map(price),
            "Exit": holdings["exit_session"].map(fmt.day),
            "Exit price": holdings["exit_price"].map(price),
            "Return": holdings["holding_return"].map(fmt.pct),
            "Exit reason": holdings["exit_reason"].map(fmt.text),
        }
    )


def tear_sheet_html(
    result: BacktestResult,
    company_names: Mapping[str, str] | None = None,
    data_build: str | None = None,
    generated_at: datetime | None = None,
) -> str:
    """The tear sheet of ``result`` as one self-contained HTML document (see the module
    docstring).

    Args:
        result: the run.
        company_names: ticker -> company name for the holdings table (missing: empty cell).
        data_build: the warehouse build the run read (e.g. ``meta.build_info.run_id``).
        generated_at: when the sheet was made (shown as is; default: not shown).

    Returns:
        The HTML text (``<!DOCTYPE html>``, ``<meta charset="utf-8">``); encode it as UTF-8.
    """
    spec, daily = result.spec, result.daily
    names = company_names or {}
    rebalances = charts.rebalance_sessions(result.holdings)
    last = rebalances[-1] if rebalances else None
    monthly = charts.monthly_table(daily)
    figures = [
        charts.equity_figure(daily, spec.benchmark),
        charts.drawdown_figure(daily, spec.benchmark),
        charts.monthly_heatmap(monthly),
        charts.rolling_sharpe_figure(charts.rolling_sharpe(daily)),
    ]
    plots = "\n".join(
        fig.to_html(full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False})
        for i, fig in enumerate(figures)
    )
    first, final = daily["session"].min(), daily["session"].max()
    facts = [
        (
            f"Market {spec.market} · benchmark {benchmark_label(spec.benchmark)} · {spec.rebalance} rebalance, "
            f"top {spec.top_n} by {spec.rank_by} ({'descending' if spec.descending else 'ascending'}), "
            f"{spec.weighting} weights, {spec.cost_bps:g} bps per side"
        ),
        f"{fmt.counted(daily.height, 'session')} from {fmt.day(first)} to {fmt.day(final)}",
    ]
    if data_build:
        facts.append(f"Data build {data_build}")
    if generated_at is not None:
        facts.append(f"Generated {generated_at:%Y-%m-%d %H:%M} UTC")
    if last is not None:
        holdings_html = _table(_holdings_text(charts.holdings_at(result.holdings, last, names), spec))
        holdings_title = f"Holdings of the last rebalance ({fmt.day(last)})"
    else:
        holdings_html, holdings_title = "<p>No rebalance picked anything.</p>", "Holdings of the last rebalance"
    e = html.escape
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Backtest tear sheet: {e(spec.name)}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>Backtest tear sheet: {e(spec.name)}</h1>
<p>{"<br>".join(e(line) for line in facts)}</p>
<p class="note" id="survivorship">{e(survivorship_statement(spec.markets))}</p>
<h2>Metrics</h2>
{_table(charts.metrics_table(result.metrics))}
<h2>Charts</h2>
{plots}
<h2>Monthly returns</h2>
{_table(_monthly_text(monthly), index=True)}
<h2>{e(holdings_title)}</h2>
{holdings_html}
<h2>Strategy file</h2>
<pre id="strategy">{e(dump_strategy(spec))}</pre>
</body>
</html>
"""
