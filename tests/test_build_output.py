"""What ``python -m pipelines.build`` prints: step lines with elapsed time and rows, the dbt step's
progress from dbt's own output, no Dagster DEBUG lines unless ``--verbose``.

``fixtures/build_output/dbt_build_stdout.txt.gz`` is the real output dbt printed during the dbt
step of a first build of the bundled data (dbt 1.11, 295 nodes: 38 models, 1 seed, 256 tests).
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import polars as pl
import pytest

from pipelines.defs.prices.validation import ticker_chunk_count, ticker_chunks
from pipelines.lib.progress import BuildProgress, LineSink, progress_message, step_summary

DBT_OUTPUT = Path(__file__).parent / "fixtures" / "build_output" / "dbt_build_stdout.txt.gz"


class FakeClock:
    """Seconds advanced by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _progress(live: bool = False, verbose: bool = False) -> tuple[BuildProgress, io.StringIO, FakeClock]:
    out, clock = io.StringIO(), FakeClock()
    return BuildProgress(out, live=live, verbose=verbose, clock=clock), out, clock


def _dbt_lines() -> list[str]:
    return gzip.decompress(DBT_OUTPUT.read_bytes()).decode().splitlines()


def test_dbt_output_becomes_tenths_of_progress_and_a_summary():
    progress, out, clock = _progress()
    progress.step_started("dbt_models")
    sink = LineSink(progress.on_output_line)
    for line in _dbt_lines():
        clock.now += 0.1
        sink.write(line[:10])  # dagster-dbt writes whole lines; a split write must not matter
        sink.write(line[10:] + "\n")
    progress.step_ended("dbt_models", None)
    lines = out.getvalue().splitlines()
    done = [line.split("] ", 1)[1] for line in lines if "dbt models and tests done" in line]
    assert done == [f"dbt_models: {n} of 295 dbt models and tests done"
                    for n in (30, 59, 89, 118, 148, 177, 207, 236, 266, 295)]  # fmt: skip
    assert lines[0] == "[   0.0 s] dbt_models started"
    # 606 lines read at 0.1 s each: the step took 60.6 s; 38 models and the seed built, 256 tests passed
    assert lines[-1] == "[  60.6 s] dbt_models: done; dbt nodes: 256 passed, 39 built (60.6 s)"
    assert len(lines) == 12  # none of dbt's own lines (START/PASS/OK, the banner) is printed


def test_a_failing_dbt_test_is_shown_at_once_and_dbt_explains_it_at_the_end():
    progress, out, _ = _progress()
    progress.step_started("dbt_models")
    for line in [
        "Running with dbt=1.11.16",
        "1 of 2 START test unique_fct_daily_indicators_ticker ........................ [RUN]",
        "1 of 2 FAIL 3 unique_fct_daily_indicators_ticker ............................. [\x1b[31mFAIL 3\x1b[0m in 0.05s]",
        "2 of 2 START sql table model marts.mart_screener_latest ...................... [RUN]",
        "2 of 2 SKIP relation marts.mart_screener_latest .............................. [\x1b[33mSKIP\x1b[0m]",
        "Completed with 1 error, 0 partial successes, and 0 warnings:",
        "Failure in test unique_fct_daily_indicators_ticker (models/marts/schema.yml)",
        "  Got 3 results, configured to fail if != 0",
        "Done. PASS=0 WARN=0 ERROR=1 SKIP=1 NO-OP=0 TOTAL=2",
    ]:
        progress.on_output_line(line)
    progress.step_ended("dbt_models", "The dbt CLI process failed with exit code 1.")
    text = out.getvalue()
    assert "  dbt FAIL 3 unique_fct_daily_indicators_ticker\n" in text
    assert "dbt_models FAILED after 0.0 s: The dbt CLI process failed with exit code 1." in text
    assert "    Failure in test unique_fct_daily_indicators_ticker (models/marts/schema.yml)\n" in text
    assert "    Done. PASS=0 WARN=0 ERROR=1 SKIP=1 NO-OP=0 TOTAL=2\n" in text
    assert "START" not in text and "\x1b[" not in text


def test_verbose_passes_dbt_output_through_and_outside_a_step_nothing_is_hidden():
    progress, out, _ = _progress(verbose=True)
    progress.step_started("dbt_models")
    progress.on_output_line("1 of 2 START test unique_x ... [RUN]")
    assert out.getvalue().splitlines()[-1] == "1 of 2 START test unique_x ... [RUN]"
    quiet, quiet_out, _ = _progress()
    quiet.on_output_line("Encountered an error while parsing the project")  # dbt parse, before any step
    assert quiet_out.getvalue() == "Encountered an error while parsing the project\n"


def test_on_a_terminal_progress_is_one_live_line_under_the_step_lines():
    progress, out, clock = _progress(live=True)
    progress.step_started("raw__prices_daily")
    for done in (1, 2):
        clock.now += 1.5
        progress.on_event(_LogEntry("raw__prices_daily", progress_message(done, 4, "chunks of price rows validated")))
    clock.now += 0.5
    progress.note("  raw__prices_daily: a message")
    progress.step_ended("raw__prices_daily", None)
    text = out.getvalue()
    live = "[   3.0 s] [##########..........] raw__prices_daily: 2 of 4 chunks of price rows validated"
    assert "\r\x1b[K" + live in text
    # a step line clears the live line, prints, and redraws it; the step's end clears it for good
    assert "\r\x1b[K[   3.5 s]   raw__prices_daily: a message\n" + live in text
    assert text.endswith("\r\x1b[K[   3.5 s] raw__prices_daily: done (3.5 s)\n")


class _LogEntry:
    """The fields of a Dagster log-message event the progress reads."""

    def __init__(self, step_key: str, message: str, job_name: str = "warehouse_build", level: int = 20) -> None:
        self.step_key, self.user_message, self.job_name, self.dagster_event = step_key, message, job_name, None
        self.level = level


def test_asset_messages_are_one_line_each_and_dagster_dbt_housekeeping_is_hidden():
    progress, out, _ = _progress()
    progress.on_event(_LogEntry("raw__sec_facts", "0000320193 Apple Inc.: {'input': 24579, 'loaded': 24579}"))
    progress.on_event(_LogEntry("dbt_models", "Running dbt command: `dbt build --select fqn:*`."))
    progress.on_event(_LogEntry("raw__prices_daily", "x" * 400 + "\nsecond line"))
    progress.on_event(_LogEntry("raw__prices_daily", "a debug message", level=10))
    lines = out.getvalue().splitlines()
    assert lines[0] == "[   0.0 s]   raw__sec_facts: 0000320193 Apple Inc.: {'input': 24579, 'loaded': 24579}"
    assert lines[1] == "[   0.0 s]   raw__prices_daily: " + "x" * 319 + "…"
    assert len(lines) == 2


def test_step_summary_says_rows_loaded_rejected_and_checks():
    prices = {"dagster/row_count": 619_017, "loaded": 619_017, "rejected": 23, "file_rows": 619_040}
    checks = [("rows_pass_expectations", True, "ERROR"), ("daily_completeness", True, "ERROR")]
    assert step_summary([("raw/prices_daily", prices)], checks) == "619,017 rows loaded, 23 rejected; 2 checks passed"
    news = [("raw/news_articles", {"dagster/row_count": 10_291, "loaded": 10_291, "rejected": 4}),
            ("raw/news_article_tickers", {"dagster/row_count": 11_000}), ("raw/rejected_news", {"dagster/row_count": 4})]  # fmt: skip
    assert step_summary(news, []) == "3 assets; 10,291 rows loaded, 4 rejected"
    models = [("marts/a", {"dagster/row_count": 1_000}), ("marts/b", {"dagster/row_count": 234})]
    assert step_summary(models, [("dbt_tests", False, "WARN")]) == "2 assets, 1,234 rows; check dbt_tests FAILED (WARN)"
    assert step_summary([("raw/companies", {"dagster/row_count": 505})], []) == "505 rows"
    assert step_summary([("serving/warehouse_snapshot", {"size_mb": 80.1})], []) == "done"


def test_price_chunk_count_matches_the_chunks():
    contiguous = pl.DataFrame({"ticker": ["A"] * 5 + ["B"] * 3 + ["C"] * 4 + ["D"] * 1, "x": range(13)})
    interleaved = contiguous.sample(fraction=1.0, shuffle=True, seed=7)
    for frame in (contiguous, interleaved):
        for rows in (2, 4, 6, 100):
            assert ticker_chunk_count(frame, rows) == len(list(ticker_chunks(frame, rows))), rows
    # a ticker goes to the chunk of its first row's offset // rows: A 0, B 5, C 8, D 12 -> A+B | C | D
    assert ticker_chunk_count(contiguous, 6) == 3
    assert [chunk["ticker"].unique(maintain_order=True).to_list() for chunk in ticker_chunks(contiguous, 6)] == [
        ["A", "B"],
        ["C"],
        ["D"],
    ]


@pytest.mark.integration
def test_the_build_command_prints_steps_with_rows_and_no_dagster_debug_lines(tmp_path, monkeypatch, capsys):
    """``python -m pipelines.build`` on five tickers (a whole warehouse_build), then the daily path
    with ``--verbose``: step lines with rows and dbt progress by default, Dagster's DEBUG lines only
    with ``--verbose``."""
    from dagster import DagsterInstance

    from pipelines import build
    from tests.conftest import test_settings
    from tests.data_files import sample_fixture

    settings = test_settings(tmp_path, prices_csv=sample_fixture("sp500_5tickers_2017-01_2018-02.csv"))
    run_build = build.run_build
    instance = DagsterInstance.ephemeral()
    monkeypatch.setattr(build, "Settings", lambda: settings)
    monkeypatch.setattr(build, "run_build", lambda s, f, l, **kw: run_build(s, f, l, instance=instance, **kw))
    assert build.main([]) == 0
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert "Materialized value" not in out and " - DEBUG - " not in out
    lines = [line.split("] ", 1)[1] for line in captured.out.splitlines() if line.startswith("[")]
    assert "raw__prices_daily started" in lines
    assert "raw__prices_daily: 1 of 1 chunks of us price rows validated" in lines
    assert "raw__prices_daily: 1,385 rows loaded, 0 rejected; 2 checks passed" in [
        line.rsplit(" (", 1)[0] for line in lines
    ]
    assert any(line.startswith("dbt_models: ") and line.endswith(" dbt models and tests done") for line in lines)
    assert [line for line in lines if line.startswith("warehouse_build succeeded in ")]
    assert captured.out.splitlines()[-1].startswith("build succeeded (warehouse_build)")

    assert build.main(["--verbose", "--partition-range", "2018-02-07...2018-02-07"]) == 0
    verbose = capsys.readouterr()
    assert "Materialized value raw prices_daily" in verbose.err and " - DEBUG - " in verbose.err
    assert "raw__prices_daily started" in verbose.out  # the step lines are printed too
