"""The sessions the price asset covers end where its source ends.

``raw/prices_daily`` has no Dagster partitions (a run loads a window of sessions from its run
config, see :mod:`pipelines.lib.sessions`), so the UI lists no "missing" sessions after a static
file's last day. The window a run loads by default ends at the file's last trade date for the
bundled file or a ``PRICES_CSV``, and at the exchange's latest session for the live Yahoo source.
"""

from __future__ import annotations

from datetime import date

import exchange_calendars

from domain.settings import Settings
from pipelines.defs.prices.window import resolve_window, source_sessions
from pipelines.lib.resources import build_resources

#: A Saturday long after the bundled file's last session (2018-02-07).
TODAY = date(2026, 12, 5)


def _price_source(**values):
    return build_resources(Settings.from_values(**values), environ={})["price_source"]


def test_no_asset_has_partitions_running_to_today(definitions):
    """No asset has date partitions (which the UI would list as missing up to today); the one
    partitioned asset is backtests/strategy_runs, one dynamic partition per strategy file."""
    from dagster import DynamicPartitionsDefinition

    graph = definitions.resolve_asset_graph()
    partitioned = {key.to_user_string(): graph.get(key).partitions_def for key in graph.get_all_asset_keys()
                   if graph.get(key).partitions_def is not None}  # fmt: skip
    assert list(partitioned) == ["backtests/strategy_runs"]
    assert isinstance(partitioned["backtests/strategy_runs"], DynamicPartitionsDefinition)
    assert partitioned["backtests/strategy_runs"].name == "strategies"


def test_a_static_file_ends_at_its_last_trade_date():
    bundled = _price_source()
    assert source_sessions(bundled, TODAY) == (date(2013, 2, 8), date(2018, 2, 7))
    # the default window (no run config): the file's sessions, not up to today
    assert resolve_window(bundled, None, None, TODAY) == (date(2013, 2, 8), date(2018, 2, 8))


def test_a_prices_csv_ends_at_its_last_session(tmp_path):
    path = tmp_path / "prices.csv"
    header = "date,open,high,low,close,volume,Name\n"
    path.write_text(header + "2017-06-30,1,2,1,2,100,AAA\n2017-07-03,1,2,1,2,100,AAA\n")
    assert source_sessions(_price_source(prices_csv=path), TODAY) == (date(2013, 2, 8), date(2017, 7, 3))
    # a last row dated on a holiday (Independence Day): the session before it
    path.write_text(header + "2017-07-03,1,2,1,2,100,AAA\n2017-07-04,1,2,1,2,100,AAA\n")
    assert source_sessions(_price_source(prices_csv=path), TODAY)[1] == date(2017, 7, 3)


def test_the_live_source_runs_to_the_latest_exchange_session():
    yahoo = _price_source(price_source="yahoo")
    xnys = exchange_calendars.get_calendar("XNYS")
    for today, latest in [(TODAY, date(2026, 12, 4)), (date(2026, 12, 25), date(2026, 12, 24)),
                          (date(2026, 12, 7), date(2026, 12, 7))]:  # fmt: skip
        assert xnys.date_to_session(today.isoformat(), direction="previous").date() == latest  # the oracle
        assert source_sessions(yahoo, today) == (date(2013, 2, 8), latest), today
