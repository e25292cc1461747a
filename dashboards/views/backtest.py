"""Backtest page: choose or edit a strategy, run it on the app's warehouse, compare runs, download
a tear sheet.

**Strategy.** "Strategy file" lists the files of ``STRATEGIES_DIR`` (:mod:`domain.backtests.files`);
choosing one fills the form: the strategy's fields (name, market, benchmark, ranking, top N,
rebalance, weighting, cost, dates, preset) in the main area and its screen in the sidebar, drawn
from the screener's own filter form (:mod:`dashboards.lib.filter_form`: the same widgets, labels
and display units, fractions in percent and money in the strategy market's currency; keys
prefixed ``bt_`` so the Screener page's filters stay as they are). Choosing a preset writes its
filters into the widgets; filters added on top override the preset's, and a preset one of whose
filters was cleared is saved as plain filters. "Save as strategy file" validates the form
(:func:`domain.backtests.spec.strategy_from_mapping`) and writes ``<name>.yml`` atomically
(replacing a file of that name); an invalid strategy shows the
:class:`~domain.backtests.spec.StrategyError` message and writes nothing.

**Run.** "Run backtest" runs the form's strategy in process on the app's reader
(:class:`~domain.backtests.data.ReaderSource`, :func:`~domain.backtests.run.run_backtest`: the
published snapshot or PostgreSQL, read-only). Runs are kept in ``st.session_state`` for the browser
session (the last :data:`SESSION_RUN_LIMIT`). For the run shown: headline figures, equity vs
benchmark (linear or log scale), drawdown, monthly returns (year x month heatmap), the rolling
12-month (252-session) Sharpe ratio, the metrics table (fractions in percent, the drawdown's
sessions as dates), the holdings of a chosen rebalance (with company names, Korean ones as
listed) and the trades; and the HTML tear sheet (:mod:`dashboards.lib.tear_sheet`, offline: plotly.js
inlined).

**Compare.** Up to four runs, from this session or stored in ``backtests.backtest_runs`` by
``python -m pipelines.backtest`` (listed when the warehouse has that table): their equity curves
on one chart and their metrics side by side.

The bundled universes are survivors (S&P 500 of February 2018; the KRX listing of 2022-05-16,
472 delistings absent): the page says so above the results and in the tear sheet.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import streamlit as st

from dashboards.lib import backtest_charts as charts
from dashboards.lib import context, tables
from dashboards.lib import filter_form as ff
from dashboards.lib import filter_widgets as fw
from dashboards.lib import formatting as fmt
from dashboards.lib.portfolio_charts import benchmark_label
from dashboards.lib.tear_sheet import survivorship_statement, tear_sheet_html
from dashboards.queries import backtest as queries
from dashboards.queries import screener as screener_queries
from domain import screens
from domain.backtests.data import BacktestDataError, ReaderSource, data_build
from domain.backtests.files import list_strategies, save_strategy
from domain.backtests.run import BacktestResult, run_backtest
from domain.backtests.spec import (
    EQUAL_WEIGHT,
    MARKET_GROUPS,
    RANKABLE_UNITS,
    StrategyError,
    StrategySpec,
    load_strategy,
    strategy_from_mapping,
)
from domain.markets import markets as known_markets
from domain.warehouse.readers import DATABASE_ERRORS

PREFIX = "bt_"
KEY_FILE = "bt_file"
KEY_NAME = "bt_name"
KEY_MARKET = "bt_market"
KEY_BENCHMARK = "bt_benchmark"
KEY_RANK_BY = "bt_rank_by"
KEY_DESCENDING = "bt_descending"
KEY_TOP_N = "bt_top_n"
KEY_REBALANCE = "bt_rebalance"
KEY_WEIGHTING = "bt_weighting"
KEY_COST = "bt_cost_bps"
KEY_START = "bt_start"
KEY_END = "bt_end"
KEY_PRESET = "bt_preset"
KEY_RUNS = "bt_runs"  # the session's runs: list of dicts (label, result, data_build)
KEY_SHOWN = "bt_shown"
KEY_LOG = "bt_log_scale"
KEY_COMPARE = "bt_compare"
KEY_COMPARE_LOG = "bt_compare_log_scale"
KEY_MESSAGE = "_bt_message"  # (kind, text) of the last save, shown once
KEY_CURRENCY = "_bt_currency"  # the currency the money filters' values are in

#: Runs of this browser session kept (the oldest are dropped).
SESSION_RUN_LIMIT = 10
#: Runs the comparison takes at most.
COMPARE_LIMIT = 4
MARKETS = ("US", "KOSPI", "KOSDAQ", "KRX", "ALL")
MARKET_LABELS = {"KRX": "KRX (KOSPI and KOSDAQ)", "ALL": "All markets"}
BENCHMARKS = (EQUAL_WEIGHT, "KS11", "KQ11", "KS200")
REBALANCES = ("weekly", "monthly", "quarterly")
WEIGHTINGS = ("equal", "market_cap", "inverse_volatility")
WEIGHTING_LABELS = {"equal": "Equal", "market_cap": "Market cap", "inverse_volatility": "Inverse volatility (63 bars)"}
#: Sidebar sections of the screen: registry group -> (title, expanded, caption); technical
#: screens first (what most strategies use), then what point-in-time fundamentals can offer.
SECTIONS: tuple[fw.Section, ...] = (
    ("technicals", "Technicals", True, None),
    ("returns", "Returns", True, None),
    ("fundamentals", "Fundamentals", False, ("Point in time from filings only: dividend yield is empty; US "
                                            "market cap, P/E and P/B exist for the companies with SEC filings.")),
    ("filings", "From SEC filings", False, "Companies without filings never match these."),
    ("news", "News (7 days)", False, None),
)  # fmt: skip
#: Screen fields that belong to the strategy's other fields, not to its screen.
_NOT_SCREEN = ("markets", "sort_by", "descending", "limit")
#: A strategy for a folder without a valid file.
DEFAULT_STRATEGY: dict[str, Any] = {
    "name": "my_strategy", "market": "US", "screen": {"preset": "Momentum"}, "rank_by": "return_126d",
    "descending": True, "top_n": 20, "rebalance": "monthly", "weighting": "equal", "cost_bps": 10,
    "start": "2014-01-01", "end": "2018-02-07", "benchmark": EQUAL_WEIGHT,
}  # fmt: skip
_DATE_BOUNDS = {"min_value": date(1980, 1, 1), "max_value": date(2100, 12, 31)}


# ----------------------------------------------------------------------------- form <-> strategy


def _screen_keys() -> list[str]:
    """The filter form's keys a strategy's screen uses: text, sectors and every filter (not the
    market and sort, which are the strategy's own market and ranking)."""
    skip = {ff.KEY_MARKET, ff.KEY_SORT_BY, ff.KEY_SORT_DESC}
    return [key for key in ff.widget_keys() if key not in skip]


def _market_codes(market: str) -> tuple[str, ...]:
    return MARKET_GROUPS.get(market) or tuple(known_markets())


def _currency(market: str) -> str | None:
    """The one currency of a strategy market's screener markets, None for several (``ALL``)."""
    currencies = {fmt.market_currency(code) for code in _market_codes(market)}
    return currencies.pop() if len(currencies) == 1 else None


def _rankable() -> list[str]:
    return [c.name for c in screens.registry() if c.sort and c.unit in RANKABLE_UNITS]


def _set_screen(screen: screens.ScreenSpec, currency: str | None) -> None:
    """Write ``screen``'s filters into the form's widgets (prefixed filter-form keys)."""
    values = ff.widget_values(screen.replace(markets=()), None, currency)
    for key in _screen_keys():
        st.session_state[PREFIX + key] = values.get(key)
    st.session_state[KEY_CURRENCY] = currency


def _load(spec: StrategySpec) -> None:
    """Fill the form with ``spec``."""
    state = st.session_state
    state[KEY_NAME] = spec.name
    state[KEY_MARKET] = spec.market
    state[KEY_BENCHMARK] = spec.benchmark
    state[KEY_RANK_BY] = spec.rank_by
    state[KEY_DESCENDING] = spec.descending
    state[KEY_TOP_N] = spec.top_n
    state[KEY_REBALANCE] = spec.rebalance
    state[KEY_WEIGHTING] = spec.weighting
    state[KEY_COST] = float(spec.cost_bps)
    state[KEY_START] = spec.start
    state[KEY_END] = spec.end
    state[KEY_PRESET] = spec.screen.preset or screens.NO_PRESET
    _set_screen(spec.screen_spec(), _currency(spec.market))


def _screen_section(screen: screens.ScreenSpec, preset: str | None) -> dict[str, Any]:
    """The strategy's ``screen`` block for the form's ``screen`` and chosen ``preset``: the preset
    and the filters that differ from it while every filter of the preset still holds, else the
    filters alone (``{}``: no screen)."""
    data = {k: v for k, v in screens.spec_to_mapping(screen).items() if k not in _NOT_SCREEN}
    if preset and preset != screens.NO_PRESET:
        base = {k: v for k, v in screens.spec_to_mapping(screens.presets()[preset]).items() if k not in _NOT_SCREEN}
        if all(data.get(k) == v for k, v in base.items()):
            extra = {k: v for k, v in data.items() if base.get(k) != v}
            return {"preset": preset, **({"filters": extra} if extra else {})}
    return {"filters": data} if data else {}


def _form_mapping() -> dict[str, Any]:
    """The form's strategy as plain data (what a strategy file holds).

    Raises:
        ValueError, TypeError: a screen filter the screener rejects (e.g. a minimum above its maximum).
    """
    state = st.session_state
    market = state[KEY_MARKET]
    values = {key: state.get(PREFIX + key) for key in _screen_keys()}
    screen = ff.spec_from_widgets(values, screens.registry(), _currency(market))
    return {
        "name": str(state[KEY_NAME] or "").strip(),
        "market": market,
        "screen": _screen_section(screen, state[KEY_PRESET]),
        "rank_by": state[KEY_RANK_BY],
        "descending": bool(state[KEY_DESCENDING]),
        "top_n": state[KEY_TOP_N],
        "rebalance": state[KEY_REBALANCE],
        "weighting": state[KEY_WEIGHTING],
        "cost_bps": state[KEY_COST],
        "start": state[KEY_START],
        "end": state[KEY_END],
        "benchmark": str(state[KEY_BENCHMARK] or "").strip(),
    }


def _form_spec() -> StrategySpec:
    """The form's strategy, validated.

    Raises:
        StrategyError: a field is invalid (names it).
    """
    try:
        mapping = _form_mapping()
    except (ValueError, TypeError) as exc:
        raise StrategyError(f"the form: screen: {exc}") from None
    return strategy_from_mapping(mapping, "the form")


# ----------------------------------------------------------------------------- callbacks


def _strategies_dir() -> Path:
    return context.settings().strategies_dir


def _on_file() -> None:
    """A strategy file was chosen: fill the form with it (or say why it cannot be read)."""
    path = _strategies_dir() / st.session_state[KEY_FILE]
    try:
        _load(load_strategy(path))
    except StrategyError as exc:
        st.session_state[KEY_MESSAGE] = ("error", str(exc))
    else:
        st.session_state.pop(KEY_MESSAGE, None)


def _on_market() -> None:
    """Another market: money filters restart empty when the currency changes."""
    currency = _currency(st.session_state[KEY_MARKET])
    if st.session_state.get(KEY_CURRENCY, currency) != currency:
        for key in ff.money_widget_keys():
            st.session_state[PREFIX + key] = None
    st.session_state[KEY_CURRENCY] = currency


def _on_preset() -> None:
    """A preset was chosen: its filters replace the form's (its market too, when it names one)."""
    preset = screens.presets()[st.session_state[KEY_PRESET]]
    if preset.markets and not set(_market_codes(st.session_state[KEY_MARKET])) <= set(preset.markets):
        st.session_state[KEY_MARKET] = ff.market_choice(preset.markets) or st.session_state[KEY_MARKET]
    _set_screen(preset, _currency(st.session_state[KEY_MARKET]))


def _on_save() -> None:
    """Validate the form and write it as ``<name>.yml`` in ``STRATEGIES_DIR`` (nothing is written
    when it is invalid); the outcome is shown above the buttons."""
    directory = _strategies_dir()
    try:
        path = save_strategy(directory, _form_mapping())
    except StrategyError as exc:
        st.session_state[KEY_MESSAGE] = ("error", f"Not saved: {exc}")
    except (ValueError, TypeError) as exc:  # a screen filter of the form
        st.session_state[KEY_MESSAGE] = ("error", f"Not saved: check the screen's filters: {exc}")
    except OSError as exc:
        st.session_state[KEY_MESSAGE] = ("error", f"Not saved: could not write in {directory}: {exc}")
    else:
        st.session_state[KEY_MESSAGE] = ("success", f"Saved {path.name} in {path.parent}.")
        st.session_state[KEY_FILE] = path.name


# ----------------------------------------------------------------------------- drawing


def _init_form(files: list[str]) -> None:
    """First visit: the first strategy file that loads fills the form (the default strategy when
    none does)."""
    if KEY_NAME in st.session_state:
        return
    for name in files:
        try:
            spec = load_strategy(_strategies_dir() / name)
        except StrategyError:
            continue
        st.session_state[KEY_FILE] = name
        _load(spec)
        return
    _load(strategy_from_mapping(DEFAULT_STRATEGY, "the default strategy"))


def _screen_form(sectors: list[str], currency: str | None) -> None:
    """The strategy's screen in the sidebar: the screener's filters, grouped as in the registry."""
    registry = screens.registry()
    with st.sidebar:
        st.header("Screen")
        st.caption("The strategy's screen: the screener's filters, applied point in time on each signal session.")
        st.text_input(ff.LABEL_TEXT, key=PREFIX + ff.KEY_TEXT, persist_state="session")
        kept = [s for s in st.session_state.get(PREFIX + ff.KEY_SECTORS) or [] if s in sectors]
        st.session_state[PREFIX + ff.KEY_SECTORS] = kept
        st.multiselect(ff.LABEL_SECTORS, sectors, key=PREFIX + ff.KEY_SECTORS, placeholder="All sectors",
                       persist_state="session")  # fmt: skip
        fw.filter_sections(registry.filters.values(), SECTIONS, currency, prefix=PREFIX)


def _strategy_form(files: list[str]) -> None:
    """The strategy's own fields and the file choice."""
    state = st.session_state
    registry = screens.registry()
    file_col, info_col = st.columns([2, 3], vertical_alignment="bottom")
    with file_col:
        if files:
            if state.get(KEY_FILE) not in files:
                state[KEY_FILE] = files[0]
            st.selectbox("Strategy file", files, key=KEY_FILE, on_change=_on_file,
                         help=f"The strategy files (*.yml) of {_strategies_dir()}")  # fmt: skip
        else:
            st.info(f"No strategy file in {_strategies_dir()} yet: edit the form and save one.")
    info_col.caption(
        "Signals use the close before each rebalance session; trades at that session's open; costs per side on "
        "the traded notional; see docs/backtests.md for the exact semantics."
    )
    with st.container(border=True):
        row = st.columns(3)
        row[0].text_input("Name", key=KEY_NAME, max_chars=80, persist_state="session",
                          help="Also the file name when saved: <name>.yml (letters, digits, '_', '-' or '.').")  # fmt: skip
        row[1].selectbox("Market", MARKETS, key=KEY_MARKET, on_change=_on_market, persist_state="session",
                         format_func=lambda m: MARKET_LABELS.get(m, fmt.market_name(m)))  # fmt: skip
        benchmarks = list(BENCHMARKS)
        if state.get(KEY_BENCHMARK) and state[KEY_BENCHMARK] not in benchmarks:
            benchmarks.append(state[KEY_BENCHMARK])
        row[2].selectbox("Benchmark", benchmarks, key=KEY_BENCHMARK, accept_new_options=True, persist_state="session",
                         help="EQUAL_WEIGHT (the equal-weighted universe of the strategy's markets), an index "
                         "(KS11, KQ11, KS200) or a ticker (type it).")  # fmt: skip
        row = st.columns(3)
        row[0].selectbox("Rank by", _rankable(), key=KEY_RANK_BY, format_func=lambda n: registry[n].label,
                         persist_state="session", help="A numeric screener column; the top N by it are bought.")  # fmt: skip
        row[1].number_input("Top N", key=KEY_TOP_N, min_value=1, max_value=500, step=1, persist_state="session")
        row[2].toggle("Descending (highest first)", key=KEY_DESCENDING, persist_state="session")
        row = st.columns(3)
        row[0].selectbox("Rebalance", REBALANCES, key=KEY_REBALANCE, format_func=str.capitalize,
                         persist_state="session")  # fmt: skip
        row[1].selectbox("Weighting", WEIGHTINGS, key=KEY_WEIGHTING, format_func=WEIGHTING_LABELS.__getitem__,
                         persist_state="session")  # fmt: skip
        row[2].number_input("Cost (bps per side)", key=KEY_COST, min_value=0.0, max_value=1000.0, step=1.0,
                            format="%g", persist_state="session")  # fmt: skip
        row = st.columns(3)
        row[0].date_input("Start", key=KEY_START, persist_state="session", **_DATE_BOUNDS)
        row[1].date_input("End", key=KEY_END, persist_state="session", **_DATE_BOUNDS)
        row[2].selectbox("Preset screen", screens.preset_names(), key=KEY_PRESET, on_change=_on_preset,
                         persist_state="session",
                         help="Writes the preset's filters into the screen (sidebar); filters set on top override "
                         "its own. Clearing one of its filters saves the screen as plain filters.")  # fmt: skip


def _run_label(spec: StrategySpec, number: int) -> str:
    return f"{spec.name} · run {number} · {datetime.now(UTC):%H:%M:%S}"


def _run(spec: StrategySpec) -> None:
    """Run ``spec`` on the app's reader and keep the run in the session (shown next)."""
    try:
        with st.spinner(f"Running {spec.name}…"):
            source = ReaderSource(reader)
            result = run_backtest(spec, source)
            stamp = data_build(source)
    except BacktestDataError as exc:
        st.error(f"The backtest could not run: {exc}")
        return
    except DATABASE_ERRORS as exc:
        st.error(f"The backtest could not read {reader.describe()}: {exc}")
        return
    runs = st.session_state.setdefault(KEY_RUNS, [])
    number = (runs[-1]["number"] + 1) if runs else 1
    runs.append({"label": _run_label(spec, number), "number": number, "result": result,
                 "data_build": stamp})  # fmt: skip
    del runs[:-SESSION_RUN_LIMIT]
    st.session_state[KEY_SHOWN] = runs[-1]["label"]


def _headline(result: BacktestResult) -> None:
    metrics, daily = result.metrics, result.daily
    total = float(daily["equity"][-1]) - 1
    bench = float(daily["benchmark_equity"][-1]) - 1
    cols = st.columns(5)
    cols[0].metric("Total return", fmt.pct(total, signed=True))
    cols[1].metric(f"{benchmark_label(result.spec.benchmark)} total return", fmt.pct(bench, signed=True))
    cols[2].metric("CAGR", fmt.pct(metrics.get("cagr")))
    cols[3].metric("Sharpe ratio", fmt.number(metrics.get("sharpe")))
    cols[4].metric("Max drawdown", fmt.pct(metrics.get("max_drawdown")),
                   help=f"peak {fmt.day(metrics.get('max_drawdown_peak'))}, trough "
                   f"{fmt.day(metrics.get('max_drawdown_trough'))}")  # fmt: skip
    st.caption(
        f"{fmt.counted(daily.height, 'session')} from {fmt.day(daily['session'].min())} to "
        f"{fmt.day(daily['session'].max())}, {fmt.counted(int(metrics.get('rebalances') or 0), 'rebalance')}; "
        f"run in {result.seconds:.1f} s. Annualised with 252 sessions, risk-free rate 0."
    )


def _currency_format(spec: StrategySpec) -> str:
    currency = _currency(spec.market)
    return fmt.table_money(currency).format if currency else "%,.4g"


def _holdings(result: BacktestResult, names: dict[str, str], run_key: str) -> None:
    sessions = charts.rebalance_sessions(result.holdings)
    if not sessions:
        st.info("No rebalance picked anything: every session was in cash.")
        return
    chosen = st.selectbox("Rebalance", sessions, index=len(sessions) - 1, format_func=fmt.day,
                          key=f"bt_rebalance_{run_key}")  # fmt: skip
    spec = result.spec
    column = screens.registry()[spec.rank_by]
    money = _currency_format(spec)
    st.dataframe(
        charts.holdings_at(result.holdings, chosen, names),
        hide_index=True,
        placeholder=tables.EMPTY_CELL,
        width="stretch",
        column_config={
            "ticker": st.column_config.TextColumn("Ticker", pinned=True),
            "company_name": st.column_config.TextColumn("Company", width="medium"),
            "rank": st.column_config.NumberColumn("Rank", format="%d"),
            "rank_value": st.column_config.NumberColumn(
                column.label,
                format="percent" if column.unit == "fraction" else "%.4g",
                help=f"{column.label} at the signal close (the ranking)",
            ),
            "target_weight": st.column_config.NumberColumn("Target weight", format="percent"),
            "bought": st.column_config.CheckboxColumn("Bought", help="false: no bar at the rebalance open"),
            "entry_price": st.column_config.NumberColumn("Entry (open)", format=money, help="adjusted"),
            "exit_session": st.column_config.DateColumn("Exit"),
            "exit_price": st.column_config.NumberColumn("Exit price", format=money, help="adjusted"),
            "holding_return": st.column_config.NumberColumn("Return", format="percent"),
            "exit_reason": st.column_config.TextColumn("Exit reason"),
        },
    )


def _trades(result: BacktestResult) -> None:
    trades = result.trades.to_pandas()
    st.caption(
        f"{fmt.counted(len(trades), 'trade')}. Notional and cost are in equity units: a fraction of the starting "
        "equity (1.0), shown in percent."
    )
    st.dataframe(
        trades,
        hide_index=True,
        placeholder=tables.EMPTY_CELL,
        width="stretch",
        height=400,
        column_config={
            "session": st.column_config.DateColumn("Session"),
            "ticker": st.column_config.TextColumn("Ticker"),
            "side": st.column_config.TextColumn("Side"),
            "price": st.column_config.NumberColumn("Price", format=_currency_format(result.spec), help="adjusted"),
            "notional": st.column_config.NumberColumn("Notional", format="percent"),
            "cost": st.column_config.NumberColumn("Cost", format="percent"),
            "reason": st.column_config.TextColumn("Reason"),
        },
    )


def _results(runs: list[dict]) -> None:
    labels = [run["label"] for run in reversed(runs)]
    if st.session_state.get(KEY_SHOWN) not in labels:
        st.session_state[KEY_SHOWN] = labels[0]
    st.selectbox("Run shown", labels, key=KEY_SHOWN)
    run = next(r for r in runs if r["label"] == st.session_state[KEY_SHOWN])
    result: BacktestResult = run["result"]
    spec = result.spec
    st.warning(survivorship_statement(spec.markets), icon=":material/history:")
    _headline(result)
    names = queries.company_names(reader, result.holdings["ticker"].unique().to_list())
    st.download_button(
        "Download tear sheet (HTML)",
        data=lambda: tear_sheet_html(result, names, run["data_build"], datetime.now(UTC)),  # made on click
        file_name=f"{spec.name}_tear_sheet.html",
        mime="text/html",
        on_click="ignore",
        icon=":material/download:",
        key=f"bt_tear_sheet_{run['number']}",
        help="One HTML file that works offline: the metrics, charts, monthly returns, last holdings, the strategy "
        "file and the survivorship statement.",
    )
    charts_tab, metrics_tab, holdings_tab, trades_tab = st.tabs(["Charts", "Metrics", "Holdings", "Trades"])
    daily = result.daily
    with charts_tab:
        log_scale = st.toggle("Log scale", key=KEY_LOG)
        config = {"displaylogo": False}
        st.plotly_chart(charts.equity_figure(daily, spec.benchmark, log_scale), key="bt_equity", config=config)
        st.plotly_chart(charts.drawdown_figure(daily, spec.benchmark), key="bt_drawdown", config=config)
        st.plotly_chart(charts.monthly_heatmap(charts.monthly_table(daily)), key="bt_monthly", config=config)
        st.plotly_chart(charts.rolling_sharpe_figure(charts.rolling_sharpe(daily)), key="bt_rolling_sharpe",
                        config=config)  # fmt: skip
    with metrics_tab:
        st.dataframe(charts.metrics_table(result.metrics), hide_index=True, width="content")
        st.caption("Fractions in percent; beta, alpha and the information ratio against the benchmark.")
    with holdings_tab:
        _holdings(result, names, str(run["number"]))
    with trades_tab:
        _trades(result)


def _stored_label(row: pd.Series) -> str:
    finished = pd.Timestamp(row["finished_at"])
    return f"stored · {row['strategy_name']} · {finished:%Y-%m-%d %H:%M} · {str(row['run_id'])[:8]}"


def _compare(runs: list[dict]) -> None:
    st.subheader("Compare runs")
    stored = queries.stored_runs(reader)
    options: dict[str, tuple[str, Any]] = {run["label"]: ("session", run) for run in reversed(runs)}
    if stored is None:
        st.caption(
            f"No stored runs: the warehouse has no `{reader.table('backtests', 'backtest_runs')}` table "
            "(`python -m pipelines.backtest --spec FILE` stores one)."
        )
    else:
        for _, row in stored.iterrows():
            options[_stored_label(row)] = ("stored", str(row["run_id"]))
    if not options:
        st.info("Run a backtest to compare it with others.")
        return
    chosen = st.multiselect(f"Runs to compare (up to {COMPARE_LIMIT})", list(options), key=KEY_COMPARE,
                            max_selections=COMPARE_LIMIT, placeholder="Choose runs of this session or stored runs")  # fmt: skip
    if not chosen:
        return
    curves: dict[str, pl.DataFrame] = {}
    metrics: dict[str, dict] = {}
    for label in chosen:
        kind, value = options[label]
        if kind == "session":
            curves[label], metrics[label] = value["result"].daily, value["result"].metrics
        else:
            try:
                curves[label] = charts.daily_frame(queries.stored_daily(reader, value))
                metrics[label] = queries.stored_metrics(reader, value)
            except DATABASE_ERRORS as exc:
                st.error(f"Could not read stored run {value}: {exc}")
    log_scale = st.toggle("Log scale", key=KEY_COMPARE_LOG)
    st.plotly_chart(charts.comparison_figure(curves, log_scale), key="bt_compare_chart", config={"displaylogo": False})
    st.dataframe(charts.comparison_table(metrics), hide_index=True, width="stretch")


st.title("Backtest")
reader = context.reader()
files = [path.name for path in list_strategies(_strategies_dir())]
_init_form(files)
_strategy_form(files)
market = st.session_state[KEY_MARKET]
_screen_form(screener_queries.sectors(reader, _market_codes(market)), _currency(market))

message = st.session_state.pop(KEY_MESSAGE, None)
if message is not None:
    (st.error if message[0] == "error" else st.success)(message[1])
run_col, save_col, _ = st.columns([1, 1, 3])
run_clicked = run_col.button("Run backtest", type="primary", icon=":material/play_arrow:", key="bt_run")
save_col.button("Save as strategy file", icon=":material/save:", key="bt_save", on_click=_on_save,
                help="Validates the form and writes <name>.yml into the strategies folder (replacing a file of "
                "that name).")  # fmt: skip
if run_clicked:
    try:
        _run(_form_spec())
    except StrategyError as exc:
        st.error(f"Not run: {exc}")

session_runs: list[dict] = st.session_state.get(KEY_RUNS, [])
if session_runs:
    _results(session_runs)
else:
    st.info(f"Run a backtest to see its results. {survivorship_statement()}", icon=":material/history:")
_compare(session_runs)
