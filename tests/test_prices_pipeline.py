"""The partitioned prices asset: quarantine, idempotent partition replacement, nothing
written for a malformed file, and the blocking completeness check."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from dagster import DagsterInstance

from pipelines.build import run_build
from pipelines.lib.csv_files import MalformedFileError
from tests.conftest import copy_built_warehouse, materialize_prices, test_settings
from tests.data_files import sample_fixture

pytestmark = pytest.mark.integration

FIVE_TICKERS = sample_fixture("sp500_5tickers_2017-01_2018-02.csv")
MISSING_OHLC = sample_fixture("sp500_rows_with_missing_ohlc.csv")
ROW_COLUMNS = "ticker, trade_date, open, high, low, close, volume, source"


_load = materialize_prices


def _rows(path: Path, table: str = "raw.prices_daily", columns: str = ROW_COLUMNS) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(f"select {columns} from {table} order by all").fetchall()


@pytest.fixture()
def small_warehouse(tmp_path):
    settings = test_settings(tmp_path, prices_csv=FIVE_TICKERS)
    with DagsterInstance.ephemeral() as instance:
        yield settings, instance


def test_full_build_quarantines_real_bad_rows(built_warehouse):
    with duckdb.connect(str(built_warehouse.warehouse_path), read_only=True) as con:
        loaded = con.execute("select count(*) from raw.prices_daily where market = 'US'").fetchone()[0]
        rejected = con.execute("select count(*) from raw.rejected_prices where market = 'US'").fetchone()[0]
        reasons = dict(con.execute("select ticker || ' ' || trade_date, reason from raw.rejected_prices").fetchall())
        duplicates = con.execute(
            "select count(*) from (select ticker, trade_date from raw.prices_daily group by all having count(*) > 1)"
        ).fetchone()[0]
        krx_loaded, krx_halts = con.execute(
            "select count(*), count(*) filter (where is_halted) from raw.prices_daily where market <> 'US'"
        ).fetchone()
        krx_rejected = con.execute("select count(*) from raw.rejected_prices where market <> 'US'").fetchone()[0]
        (krx_file,) = con.execute(
            "select distinct source from raw.price_load_reconciliation where price_feed = 'krx'"
        ).fetchone()
        samsung_halts = con.execute(
            "select list(trade_date::varchar order by trade_date) from raw.prices_daily "
            "where ticker = '005930' and is_halted and trade_date < '2019-01-01'"
        ).fetchone()[0]
    assert loaded + rejected == 619_040
    assert (loaded, rejected) == (619_017, 23)
    assert duplicates == 0
    # the KRX file (the session's cut of it): every row loaded or quarantined, halts loaded as such
    krx = pl.read_csv(krx_file, schema_overrides={"code": pl.Utf8})
    halt = (pl.col("open") == 0) & (pl.col("high") == 0) & (pl.col("low") == 0) & (pl.col("volume") == 0)
    assert krx_loaded + krx_rejected == krx.height
    assert krx_halts == krx.filter(halt).height > 0
    assert samsung_halts == ["2018-04-30", "2018-05-02", "2018-05-03"]  # around its 50:1 split
    # real KRX quirks: a zero-price bar WITH volume (not a halt), a close 1 KRW above the high
    assert reasons["033790 2020-01-28"] == "open_positive; high_positive; low_positive; close_le_high"
    assert reasons["000040 2018-01-31"] == "close_le_high"  # KR Motors: close 2,566, high 2,565
    incomplete = pl.read_csv(MISSING_OHLC)
    for row in incomplete.iter_rows(named=True):
        assert reasons[f"{row['Name']} {row['date']}"].startswith("open_not_null"), row
    assert reasons["BHF 2017-07-26"] == "open_not_null; high_not_null; low_not_null"
    assert reasons["DHR 2015-07-17"] == "open_not_null"
    assert reasons["CHD 2014-05-19"] == "low_le_open"  # real vendor error: open 18.77, low 33.695
    assert reasons["AOS 2014-05-19"] == "open_le_high; close_le_high"


def test_partition_rerun_is_idempotent(small_warehouse):
    settings, instance = small_warehouse
    warehouse = settings.warehouse_path
    _load("2017-01-03", "2018-02-07", instance, settings)
    first = _rows(warehouse)
    assert len(first) == 1385
    _load("2017-06-01", "2017-06-30", instance, settings)
    _load("2017-01-03", "2017-01-03", instance, settings)
    assert _rows(warehouse) == first
    _load("2017-01-03", "2018-02-07", instance, settings)
    assert _rows(warehouse) == first


def test_rerun_replaces_changed_partition_only(small_warehouse, tmp_path):
    settings, instance = small_warehouse
    warehouse = settings.warehouse_path
    _load("2017-01-03", "2018-02-07", instance, settings)
    before = _rows(warehouse)
    # the same real file without its 2017-06-01 AAPL row and with a second, conflicting MSFT
    # 2017-06-02 row (volume + 1)
    frame = pl.read_csv(FIVE_TICKERS, infer_schema=False)
    dropped = frame.filter(~((pl.col("Name") == "AAPL") & (pl.col("date") == "2017-06-01")))
    msft = dropped.filter((pl.col("Name") == "MSFT") & (pl.col("date") == "2017-06-02"))
    conflicting = msft.with_columns(volume=(pl.col("volume").cast(pl.Int64) + 1).cast(pl.Utf8))
    changed = tmp_path / "changed.csv"
    pl.concat([dropped, conflicting]).write_csv(changed)
    result = _load("2017-06-01", "2017-06-02", instance, settings.with_values(prices_csv=changed), raise_on_error=False)
    after = _rows(warehouse)
    outside = [r for r in before if not ("2017-06-01" <= str(r[1]) <= "2017-06-02")]
    assert [r for r in after if not ("2017-06-01" <= str(r[1]) <= "2017-06-02")] == outside
    inside = {(r[0], str(r[1])) for r in after if "2017-06-01" <= str(r[1]) <= "2017-06-02"}
    assert ("AAPL", "2017-06-01") not in inside and ("MSFT", "2017-06-02") not in inside
    assert len(inside) == 8
    rejected = _rows(warehouse, "raw.rejected_prices", "ticker, trade_date::varchar, reason, volume")
    volume = int(msft["volume"][0])
    assert rejected == [("MSFT", "2017-06-02", "ticker_trade_date_unique", volume),
                        ("MSFT", "2017-06-02", "ticker_trade_date_unique", volume + 1)]  # fmt: skip
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["rows_pass_expectations"].passed
    meta = {k: v.value for k, v in checks["rows_pass_expectations"].metadata.items()}
    assert (meta["source_rows"], meta["loaded"], meta["rejected"]) == (1385, 8, 2)
    assert meta["outside_requested_range"] == 1385 - 10
    # one ticker missing per session (80 %) is under the 3-ticker floor: the gate passes, and the
    # report names both gaps with their reasons
    completeness = checks["daily_completeness"]
    assert completeness.passed
    assert completeness.metadata["sessions_below_threshold"].value == 0
    assert completeness.metadata["missing_ticker_sessions"].value == 2
    assert completeness.metadata["missing_by_reason"].value == {
        "no row in the source": 1, "quarantined: ticker_trade_date_unique": 1,
    }  # fmt: skip
    preview = completeness.metadata["missing_preview"].value
    assert "| AAPL | 2017-06-01 | no row in the source |" in preview
    assert "| MSFT | 2017-06-02 | quarantined: ticker_trade_date_unique |" in preview


def test_identical_duplicates_collapse_and_every_row_is_reconciled(small_warehouse, tmp_path):
    """A real file with an identical copy of one row, one row dated before the first partition
    and one dated 2030: the copy collapses (counted), the two others are rejected with their
    reason, the 2030 row does not move split_basis_date, and the reconciliation table adds up
    to the file's rows."""
    settings, instance = small_warehouse
    frame = pl.read_csv(FIVE_TICKERS, infer_schema=False)
    row = frame.filter((pl.col("Name") == "JPM") & (pl.col("date") == "2017-06-02"))
    early = row.with_columns(date=pl.lit("2012-12-03"))
    future = row.with_columns(date=pl.lit("2030-01-08"))
    cut = tmp_path / "cut.csv"
    pl.concat([frame, row, early, future]).write_csv(cut)
    result = _load("2017-01-03", "2018-02-07", instance, settings.with_values(prices_csv=cut), raise_on_error=False)
    loaded = _rows(settings.warehouse_path, columns="ticker, trade_date, split_basis_date::varchar")
    assert len(loaded) == 1385
    assert {r[2] for r in loaded} == {"2018-02-07"}
    rejected = _rows(settings.warehouse_path, "raw.rejected_prices", "ticker, trade_date::varchar, reason, source_line")
    assert rejected == [("JPM", "2012-12-03", "trade_date_before_history_start", 1388),
                        ("JPM", "2030-01-08", "trade_date_after_latest_session", 1389)]  # fmt: skip
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["rows_pass_expectations"].passed and checks["daily_completeness"].passed
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        counts = dict(con.execute(
            "select category, row_count from raw.price_load_reconciliation where run_id = ?", [result.run_id]
        ).fetchall())  # fmt: skip
    assert counts == {
        "loaded": 1385, "rejected": 0, "rejected_outside_sessions": 2,
        "duplicate_collapsed": 1, "outside_requested_range": 0,
    }  # fmt: skip
    assert sum(counts.values()) == frame.height + 3

    # the original file again: every run decides the rejections outside the partitions anew
    _load("2017-06-01", "2017-06-01", instance, settings)
    assert _rows(settings.warehouse_path, "raw.rejected_prices", "ticker") == []


def test_malformed_file_writes_nothing(small_warehouse, tmp_path):
    settings, instance = small_warehouse
    warehouse = settings.warehouse_path
    _load("2017-01-03", "2018-02-07", instance, settings)
    before = _rows(warehouse)
    lines = FIVE_TICKERS.read_text().splitlines()
    lines[300] = lines[300].replace(lines[300].split(",")[4], "12.3.4", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    result = _load("2017-01-03", "2018-02-07", instance, settings.with_values(prices_csv=bad), raise_on_error=False)
    assert not result.success
    error = result.get_step_failure_events()[0].event_specific_data.error.cause
    assert error.cls_name == MalformedFileError.__name__
    assert f"{bad}, line 301, field 'close': '12.3.4' is not a number" in error.message
    assert _rows(warehouse) == before


def test_completeness_failure_blocks_downstream_models(tmp_path):
    frame = pl.read_csv(FIVE_TICKERS, infer_schema=False)
    cut = tmp_path / "cut.csv"
    # 3 of 5 tickers missing on the latest session: below the gate (< 95 % and >= 3 missing)
    frame.filter(~((pl.col("date") == "2018-02-07") & pl.col("Name").is_in(["XOM", "JPM", "AMZN"]))).write_csv(cut)
    settings = test_settings(tmp_path, prices_csv=cut)
    with DagsterInstance.ephemeral() as instance:
        assert not run_build(settings, instance=instance)
        run = instance.get_runs()[0]
        records = instance.all_logs(run.run_id)
    started = {r.dagster_event.step_key for r in records if r.dagster_event and r.dagster_event.is_step_start}
    failures = [r.dagster_event for r in records if r.dagster_event and r.dagster_event.is_step_failure]
    assert "raw__prices_daily" in started
    assert "dbt_models" not in started and "serving__warehouse_snapshot" not in started
    assert "blocking asset check failed" in failures[0].event_specific_data.error.message
    assert not settings.snapshot_path.exists()


def test_missing_tokens_and_infinite_prices_are_quarantined_rows(small_warehouse, tmp_path):
    """``null`` quarantines its row like an empty field; ``inf`` parses as a number but fails
    ``open_finite``; input rows = loaded + rejected, and no other row is lost."""
    settings, instance = small_warehouse
    frame = pl.read_csv(FIVE_TICKERS, infer_schema=False)
    frame = frame.with_columns(
        open=pl.when((pl.col("Name") == "AAPL") & (pl.col("date") == "2017-06-01")).then(pl.lit("null"))
        .when((pl.col("Name") == "MSFT") & (pl.col("date") == "2017-06-01")).then(pl.lit("inf"))
        .otherwise(pl.col("open"))
    )  # fmt: skip
    changed = tmp_path / "tokens.csv"
    frame.write_csv(changed)
    result = _load("2017-06-01", "2017-06-01", instance, settings.with_values(prices_csv=changed), raise_on_error=False)
    rejected = _rows(settings.warehouse_path, "raw.rejected_prices", "ticker, trade_date::varchar, reason")
    assert rejected == [("AAPL", "2017-06-01", "open_not_null"), ("MSFT", "2017-06-01", "open_finite; open_le_high")]
    loaded = [r for r in _rows(settings.warehouse_path) if str(r[1]) == "2017-06-01"]
    assert sorted(r[0] for r in loaded) == ["AMZN", "JPM", "XOM"]
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["rows_pass_expectations"].passed
    assert checks["rows_pass_expectations"].metadata["loaded"].value == 3
    assert checks["rows_pass_expectations"].metadata["rejected"].value == 2


def test_a_backfill_reports_sessions_below_the_gate_without_blocking(small_warehouse, tmp_path):
    """3 of 5 tickers missing on one session in the middle of a month: the completeness check
    fails at WARN severity (Dagster does not skip downstream steps for it) and lists the
    session; the same gap on the latest session fails at ERROR (blocking)."""
    from dagster import AssetCheckSeverity

    settings, instance = small_warehouse
    frame = pl.read_csv(FIVE_TICKERS, infer_schema=False)
    gap = tmp_path / "gap.csv"
    frame.filter(~((pl.col("date") == "2017-06-14") & pl.col("Name").is_in(["XOM", "JPM", "AMZN"]))).write_csv(gap)
    _load("2017-01-03", "2018-02-07", instance, settings)
    result = _load("2017-06-01", "2017-06-30", instance, settings.with_values(prices_csv=gap))
    check = {e.check_name: e for e in result.get_asset_check_evaluations()}["daily_completeness"]
    assert not check.passed and check.severity == AssetCheckSeverity.WARN
    assert check.metadata["sessions_below_threshold"].value == 1
    assert "| 2017-06-14 | 2 | 5 | 3 | 0.4 |" in check.metadata["sessions_below"].value
    latest = _load("2017-06-14", "2017-06-14", instance, settings.with_values(prices_csv=gap), raise_on_error=False)
    check = {e.check_name: e for e in latest.get_asset_check_evaluations()}["daily_completeness"]
    assert not check.passed and check.severity == AssetCheckSeverity.ERROR


def test_an_empty_file_does_not_wipe_the_warehouse(small_warehouse, tmp_path):
    """A header-only file over a loaded window fails and changes nothing; the same load with
    ``allow_shrink`` is an intended deletion."""
    from dagster import materialize

    from pipelines.defs.prices.assets import prices_daily
    from tests.conftest import resources_for

    settings, instance = small_warehouse
    _load("2017-01-03", "2018-02-07", instance, settings)
    before = _rows(settings.warehouse_path)
    empty = tmp_path / "empty.csv"
    empty.write_text(FIVE_TICKERS.read_text().splitlines()[0] + "\n")
    result = _load("2017-01-03", "2018-02-07", instance, settings.with_values(prices_csv=empty), raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].event_specific_data.error
    message = (failure.cause or failure).message
    assert "refusing to replace the 1,385 stored rows of this window by 0 rows" in message
    assert "--allow-shrink" in message and str(empty) in message
    assert _rows(settings.warehouse_path) == before

    allowed = materialize(
        [prices_daily], resources=resources_for(settings.with_values(prices_csv=empty)), instance=instance,
        run_config={"ops": {"raw__prices_daily": {"config": {
            "first_session": "2017-06-01", "last_session": "2017-06-30", "allow_shrink": True}}}},
        raise_on_error=False,
    )  # fmt: skip
    # the load ran and wrote the (empty) window; the blocking completeness check then fails it
    assert allowed.get_asset_materialization_events()
    checks = {e.check_name: e.passed for e in allowed.get_asset_check_evaluations()}
    assert checks == {"rows_pass_expectations": True, "daily_completeness": False}
    after = _rows(settings.warehouse_path)
    assert len(after) == 1385 - 5 * 22 and not [r for r in after if "2017-06-01" <= str(r[1]) <= "2017-06-30"]


def _build_command(settings, argv: list[str], monkeypatch) -> int:
    """``python -m pipelines.build <argv>`` in process, with ``settings`` as its environment and
    an ephemeral Dagster instance; its exit code."""
    import pipelines.build as build

    run_build = build.run_build
    with DagsterInstance.ephemeral() as instance:
        monkeypatch.setattr(build, "Settings", lambda: settings)
        monkeypatch.setattr(build, "run_build", lambda s, f, l, **kw: run_build(s, f, l, instance=instance, **kw))
        return build.main(argv)


def test_a_header_only_file_leaves_the_published_build_untouched(built_warehouse, tmp_path, monkeypatch, capsys):
    """``python -m pipelines.build`` with a header-only PRICES_CSV over the full bundled build:
    exit 1, the shrink guard's reason and what analysts keep on the console, and neither the
    warehouse nor the published snapshot changed."""
    import hashlib

    empty = tmp_path / "empty.csv"
    empty.write_text(FIVE_TICKERS.read_text().splitlines()[0] + "\n")
    settings = copy_built_warehouse(built_warehouse, tmp_path / "copy", prices_csv=empty)
    snapshot = hashlib.sha256(settings.snapshot_path.read_bytes()).hexdigest()
    assert _build_command(settings, [], monkeypatch) == 1
    out = capsys.readouterr().out
    assert "build FAILED" in out and "nothing new was published" in out
    assert "refusing to replace the 619,017 stored rows of this window by 0 rows" in out
    assert f"analysts and BI keep the previous snapshot {settings.snapshot_path}" in out
    assert "ALERT warehouse_build run" in out and "build_failed alert: log sent" in out
    assert hashlib.sha256(settings.snapshot_path.read_bytes()).hexdigest() == snapshot
    per_market = {
        "raw": "select market, count(*) from raw.prices_daily group by all",
        "screener": "select market, count(*) from marts.mart_screener_latest group by all",
    }
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        after = {name: dict(con.execute(sql).fetchall()) for name, sql in per_market.items()}
    with duckdb.connect(str(built_warehouse.warehouse_path), read_only=True) as con:
        before = {name: dict(con.execute(sql).fetchall()) for name, sql in per_market.items()}
    assert (after["raw"]["US"], after["screener"]["US"]) == (619_017, 505)
    assert after == before and after["raw"]["KOSPI"] > 0  # the KRX rows (another feed) untouched too


def test_a_daily_session_below_the_gate_keeps_the_snapshot_and_raises_an_alert(
    built_warehouse, tmp_path, monkeypatch, capsys
):
    """The daily path over one session whose file lacks 30 of the 505 tickers (94 % < 95 %, 30
    missing >= 3): the blocking completeness check fails, nothing is published, the build
    exits 1 and a build_failed alert names the run, the gate and what analysts keep."""
    import gzip
    import hashlib

    source = pl.read_csv(built_warehouse.settings.prices_csv)
    dropped = sorted(set(source["Name"].to_list()))[:30]
    partial = source.filter(~((pl.col("date") == "2018-02-07") & pl.col("Name").is_in(dropped)))
    path = tmp_path / "prices_partial.csv.gz"
    with gzip.open(path, "wb") as handle:
        partial.write_csv(handle)
    settings = copy_built_warehouse(built_warehouse, tmp_path / "copy", prices_csv=path)
    snapshot = hashlib.sha256(settings.snapshot_path.read_bytes()).hexdigest()
    assert _build_command(settings, ["--partition-range", "2018-02-07...2018-02-07"], monkeypatch) == 1
    out = capsys.readouterr().out
    assert "build FAILED" in out and "daily_completeness" in out
    assert f"analysts and BI keep the previous snapshot {settings.snapshot_path}" in out
    # the daily path into a built warehouse is the prices_update job
    alert = next(line for line in out.splitlines() if line.startswith("ALERT prices_update run"))
    assert "nothing new was published" in alert and "analysts and BI keep the previous snapshot" in alert
    assert hashlib.sha256(settings.snapshot_path.read_bytes()).hexdigest() == snapshot
    with duckdb.connect(str(settings.snapshot_path), read_only=True) as con:
        latest = con.execute(
            "select count(*) from marts.fct_daily_indicators where trade_date = '2018-02-07' and market = 'US'"
        )
        assert latest.fetchone()[0] == 505  # the previous build's session, untouched
