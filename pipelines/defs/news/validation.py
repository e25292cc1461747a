"""Great Expectations suite ``news_items_rows`` for news items, before deduplication.

Rules (the ``reason`` values of ``raw.rejected_news``, joined by ``"; "``):

``title_not_empty``
    a headline after whitespace is collapsed;
``published_at_not_null``
    a publication time could be read (missing or unparseable dates fail);
``published_at_in_range``
    ``1990-01-01 <= published_at <= loaded_at + 1 day`` (UTC): no impossible or future dates;
``link_is_http_url``
    the link, when there is one, is an ``http(s)://`` URL without spaces;
``publisher_not_empty``
    the publisher, when given, is not blank.

Structural problems (a CSV record with the wrong field count) are found by the readers before
this suite (reason ``field_count: …``). Rows failing any rule are quarantined; the others go on
to deduplication. The suite runs again on the loaded rows (blocking asset check).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
import polars as pl

from pipelines.lib import expectations

EARLIEST = datetime(1990, 1, 1)
URL_PATTERN = r"^https?://\S+$"


def _suite(latest: datetime):
    gx = expectations.gx()
    expectations.context()  # suites need an active context
    expect = gx.expectations
    suite = gx.ExpectationSuite(name="news_items_rows")
    suite.add_expectation(expect.ExpectColumnValuesToNotBeNull(column="title", meta={"rule": "title_not_empty"}))
    suite.add_expectation(
        expect.ExpectColumnValuesToNotBeNull(column="published_at", meta={"rule": "published_at_not_null"})
    )
    suite.add_expectation(
        expect.ExpectColumnValuesToBeBetween(
            column="published_at",
            min_value=EARLIEST,
            max_value=latest,
            meta={"rule": "published_at_in_range"},
        )
    )
    suite.add_expectation(
        expect.ExpectColumnValuesToMatchRegex(column="link", regex=URL_PATTERN, meta={"rule": "link_is_http_url"})
    )
    suite.add_expectation(
        expect.ExpectColumnValueLengthsToBeBetween(
            column="publisher", min_value=1, meta={"rule": "publisher_not_empty"}
        )
    )
    return suite


def _to_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    """The columns the suite reads (``published_at`` as pandas ``datetime64``, NaT for NULL)."""
    return pd.DataFrame(
        {
            "title": frame["title"].to_list(),
            "published_at": pd.to_datetime(pd.Series(frame["published_at"].to_list(), dtype="object")),
            "link": frame["link"].to_list(),
            "publisher": [None if v is None else v.strip() for v in frame["publisher"].to_list()],
        }
    )


@dataclass(frozen=True)
class ItemSplit:
    """Items split by the suite: ``valid`` (input columns), ``rejected`` (input columns +
    ``reason``), and the suite's outcome on the input."""

    valid: pl.DataFrame
    rejected: pl.DataFrame
    input_outcome: expectations.SuiteOutcome


def split_valid_rejected(items: pl.DataFrame, loaded_at: datetime) -> ItemSplit:
    """Run the suite on ``items`` (columns ``title``, ``published_at`` (naive UTC), ``link``,
    ``publisher``, any others) and split them; ``loaded_at`` (naive UTC) bounds future dates."""
    if items.height == 0:
        empty = expectations.SuiteOutcome(True, {}, 0)
        return ItemSplit(items, items.with_columns(reason=pl.lit(None, pl.Utf8)), empty)
    results = expectations.run_suite(_suite(loaded_at + timedelta(days=1)), _to_pandas(items))
    reasons = expectations.failed_rules_by_row(results)
    labelled = items.with_columns(
        pl.Series("reason", ["; ".join(reasons[i]) if i in reasons else None for i in range(items.height)], pl.Utf8)
    )
    return ItemSplit(
        valid=labelled.filter(pl.col("reason").is_null()).drop("reason"),
        rejected=labelled.filter(pl.col("reason").is_not_null()),
        input_outcome=expectations.outcome(results),
    )


def validate_items(items: pl.DataFrame, loaded_at: datetime) -> expectations.SuiteOutcome:
    """Run the suite on already-split valid items (it must pass)."""
    if items.height == 0:
        return expectations.SuiteOutcome(True, {}, 0)
    return expectations.outcome(expectations.run_suite(_suite(loaded_at + timedelta(days=1)), _to_pandas(items)))
