"""Loughran–McDonald sentiment of real headlines (bundled Benzinga files): the known LM
words give the documented counts and score, offline; the interface admits another scorer."""

from __future__ import annotations

import csv

import pytest

from pipelines.defs.news.bundled import BENZINGA_PARTNER_CSV, BENZINGA_RATINGS_CSV
from pipelines.defs.news.sentiment import (
    LoughranMcDonaldScorer,
    SentimentScore,
    SentimentScorer,
    default_scorer,
)


@pytest.fixture(scope="module")
def scorer() -> LoughranMcDonaldScorer:
    return LoughranMcDonaldScorer()


@pytest.fixture(scope="module")
def real_titles() -> set[str]:
    """Headlines of both bundled Benzinga files, whitespace collapsed as the ingest does."""
    titles = set()
    for path, column in ((BENZINGA_RATINGS_CSV, "title"), (BENZINGA_PARTNER_CSV, "headline")):
        with open(path, newline="", encoding="utf-8") as handle:
            titles |= {" ".join((row.get(column) or "").split()) for row in csv.DictReader(handle)}
    return titles


# (real headline, LM positive words, LM negative words, score = (pos - neg) / (pos + neg))
CASES = [
    # "downgrades" is LM-negative
    ("Citi Downgrades AmerisourceBergen to Hold, Slashes PT to $40", 0, 1, -1.0),
    # "crisis"
    ("Agilent (A) Withdraws Q2 & FY20 View Amid Coronavirus Crisis", 0, 1, -1.0),
    # "positive"
    ("AbbVie Announces 'Positive' Phase 3 Extension Study Data For Elagolix", 1, 0, 1.0),
    # no LM word at all ("highs" is not in the lists): neutral
    ("Stocks That Hit 52-Week Highs On Friday", 0, 0, 0.0),
    # "rebounding", "rebound" (+2); "volatile", "disrupted", "persist" (-3): (2 - 3) / 5 ("crash" is not LM)
    ("Shares of several basic materials companies are trading higher, rebounding following Thursday's crash. The "
     "sector has been volatile amid the coronavirus outbreak, which has disrupted economic activity. NOTE: While "
     "markets rebound, virus fears persist.", 2, 3, -0.2),
    # "positive", "optimistic" and "Premier" (a title: the lexicon knows no names) (+3); "limited" (-1)
    ("Shares of several healthcare companies are trading higher after President Trump made positive remarks on the "
     "U.S.-China trade talks as traders grew more optimistic over the possibility of a limited trade deal. Trump is "
     "scheduled to meet with Chinese Vice Premier Liu He at the White House today.", 3, 1, 0.5),
]  # fmt: skip


@pytest.mark.parametrize(("title", "positive", "negative", "score"), CASES, ids=lambda v: str(v)[:30])
def test_real_headlines(scorer, real_titles, title, positive, negative, score):
    assert title in real_titles, "test headlines must be real rows of the bundled file"
    (result,) = scorer.score([title])
    assert (result.positive, result.negative) == (positive, negative)
    assert result.score == pytest.approx(score, abs=1e-12)


def test_scores_are_bounded_and_batch_order_is_kept(scorer, real_titles):
    titles = sorted(real_titles)[:500]
    results = scorer.score(titles)
    assert len(results) == len(titles)
    assert all(-1.0 <= r.score <= 1.0 for r in results)
    assert results[:3] == [scorer.score([t])[0] for t in titles[:3]]
    assert any(r.score < 0 for r in results) and any(r.score > 0 for r in results)


def test_empty_text_is_neutral(scorer):
    assert scorer.score(["", None]) == [SentimentScore(0.0, 0, 0), SentimentScore(0.0, 0, 0)]  # type: ignore[list-item]


def test_interface_admits_another_scorer():
    class Constant:
        method = "constant:test"

        def score(self, texts):
            return [SentimentScore(0.5, 1, 0) for _ in texts]

    assert isinstance(Constant(), SentimentScorer)
    assert isinstance(default_scorer(), SentimentScorer)
    assert default_scorer().method == LoughranMcDonaldScorer.method
