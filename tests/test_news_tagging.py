"""Ticker tagging of real headlines (bundled Benzinga and Yahoo files) against the bundled
S&P 500 company table: true positives by each rule, and the false positives the rules exist
to reject ("A", "All", "ALL", "Price Target", broker names, abbreviations, shouted headlines)."""

from __future__ import annotations

import csv

import pytest

from domain.settings import BUNDLED_CONSTITUENTS_CSV
from pipelines.defs.news.bundled import BENZINGA_RATINGS_CSV, YAHOO_SEARCH_CSV
from pipelines.defs.news.tagging import (
    TickerTagger,
    is_ambiguous_symbol,
    name_aliases,
    normalize_vendor_tickers,
    tag_article,
)


@pytest.fixture(scope="module")
def tagger() -> TickerTagger:
    with open(BUNDLED_CONSTITUENTS_CSV, newline="", encoding="utf-8") as handle:
        return TickerTagger((row["Symbol"], row["Name"]) for row in csv.DictReader(handle))


@pytest.fixture(scope="module")
def real_titles() -> set[str]:
    """Every headline of the bundled Benzinga ratings and Yahoo files (whitespace collapsed)."""
    titles = set()
    for path, column in ((BENZINGA_RATINGS_CSV, "title"), (YAHOO_SEARCH_CSV, "title")):
        with open(path, newline="", encoding="utf-8") as handle:
            titles |= {" ".join((row.get(column) or "").split()) for row in csv.DictReader(handle)}
    return titles


def tags(tagger: TickerTagger, title: str) -> dict[str, tuple[str, str]]:
    return {t.ticker: (t.method, t.matched_text) for t in tagger.tag(title)}


# (headline, expected {ticker: (method, matched text)}): exactly these tags, nothing else
TRUE_POSITIVES = [
    ("Agilent Technologies Inc. (A) All Set To Test Support Level at 200 Day MA", {"A": ("symbol", "(A)")}),
    ("Late Market Roundup (SLE, ABX, GG, BPO, ALL, WOSCY, PRRFY)",
     {"ALL": ("symbol", "(SLE, ABX, GG, BPO, ALL, WOSCY, PRRFY)")}),
    ("AbbVie Inc. (ABBV): Among S&P 500 Dividend Aristocrats List", {"ABBV": ("symbol", "(ABBV)")}),
    ("Spotting Winners: FedEx (NYSE:FDX) And Air Freight and Logistics Stocks In Q4", {"FDX": ("symbol", "NYSE:FDX")}),
    ('Adam Feuerstein Tweets: FDA approves $AZN acalabrutinib for patients w/ mantle cell lymphoma. Brand name: '
     'Calquence. Recall, this is the "Imbruvica killer." $ABBV', {"ABBV": ("symbol", "$ABBV")}),
    ("A Peek Into The Markets: US Stock Futures Up Ahead Of ADP Report", {"ADP": ("symbol", "ADP")}),
    ("Home Depot forecasts annual same-store sales growth below estimates", {"HD": ("name", "Home Depot")}),
    ("Delta Air Lines to soon launch its third-longest flight", {"DAL": ("name", "Delta Air Lines")}),
    # a bank as the subject is tagged (the broker rule needs a rating action)
    ("Mid-Morning Market Update: Markets Rise; Bank of America Posts Higher Profit",
     {"BAC": ("name", "Bank of America")}),
    ("Berkshire Hathaway, Strategy, Domino's Pizza: Market Minute", {"BRK.B": ("name", "Berkshire Hathaway")}),
    ("The Zacks Analyst Blog Highlights AbbVie, Amgen, Stryker, Dexcom and Medtronic",
     {"ABBV": ("name", "AbbVie"), "AMGN": ("name", "Amgen"), "SYK": ("name", "Stryker"),
      "MDT": ("name", "Medtronic")}),
    ("Abbvie Reports Q4 EPS $1.20 vs. Est. $1.19, Rev. $6.796B vs. Est. $6.92B", {"ABBV": ("name", "Abbvie")}),
    # "Apple" is an English word: tagged only in a company context
    ("Apple Inc: An Exploration into Its Intrinsic Value", {"AAPL": ("name", "Apple")}),
    ("Why Trump could 'move fast' on Apple's $500B US investment plan", {"AAPL": ("name", "Apple")}),
    ("Indonesia and Apple said to agree on terms to lift iPhone 16 ban", {"AAPL": ("name", "Apple")}),
    # share classes share the company name
    ("Alphabet Inc. (GOOG) Is a Trending Stock: Facts to Know Before Betting on It",
     {"GOOG": ("symbol", "(GOOG)"), "GOOGL": ("name", "Alphabet")}),
]  # fmt: skip

FALSE_POSITIVES = [
    # "A" / "All" / "all" in a sentence never tag A or ALL
    ("A Peek Into The Markets: US Stock Futures Up; All Eyes On Fed Decision", {}),
    ("DeepSeek rushes to launch new AI model as China goes all in", {}),
    ("Medline Awards Over $700,000 in Prevention Above All Discovery Grants to Support Innovative Healthcare Research",
     {}),
    # "Target" in Title Case is a price target, not Target Corp.
    ("Agilent Technologies Signs Agreement to Supply Target Enrichment System to Ambry Genetics for Exome Sequencing",
     {"A": ("name", "Agilent Technologies")}),
    # the broker is not the subject; "CL" is Goldman's Conviction List, not Colgate-Palmolive
    ("Goldman Sachs Reiterates Buy on AmerisourceBergen, Removes the Stock from CL",
     {"ABC": ("name", "AmerisourceBergen")}),
    ("Wells Fargo Adjusts Price Target on Amazon.com to $203 From $207, Maintains Equalweight Rating",
     {"AMZN": ("name", "Amazon.com")}),
    ("SunTrust Robinson Humphrey Maintains Buy on Aaron's, Lowers Price Target to $65", {}),
    ("UPDATE: Bank of America Raises PO on AmerisourceBergen Following Contract Win",
     {"ABC": ("name", "AmerisourceBergen")}),
    ("Goldman Sachs Raises Agilent Technologies PT", {"A": ("name", "Agilent Technologies")}),
    # ETN = exchange-traded note, not Eaton
    ("Leveraged BDC ETN With 14.6% Yield Launched", {}),
    # "low" is a word (LOW = Lowe's); LNG is not in the 2018 S&P 500 table
    ("Asia LNG imports drop to 22-month low as Europe demand rises", {}),
    # a shouted headline: upper-case words are not tickers
    ("ABLYNX ANNOUNCES POSITIVE PHASE I RESULTS FOR SUBCUTANEOUS ADMINISTRATION OF ITS ANTI-THROMBOTIC NANOBODY® "
     "(ALX-0681)", {}),
    # companies outside the table are not tagged, even in an explicit context
    ("Matthews Pacific Tiger Fund Reduces Alibaba Group Holding Ltd by 62.53%", {}),
    ("Why Alibaba (BABA) Stock Is Retreating Today", {}),
]  # fmt: skip


@pytest.mark.parametrize(("title", "expected"), TRUE_POSITIVES + FALSE_POSITIVES, ids=lambda v: str(v)[:40])
def test_real_headlines_get_exactly_the_expected_tags(tagger, real_titles, title, expected):
    assert title in real_titles, "test headlines must be real rows of the bundled files"
    assert tags(tagger, title) == expected


def test_one_letter_and_word_tickers_only_in_explicit_contexts(tagger, real_titles):
    """Over every real headline: A and ALL are tagged only from (A)/$A/NYSE: A-like contexts."""
    for title in real_titles:
        for tag in tagger.tag(title):
            if tag.ticker in ("A", "ALL", "LOW", "KEY", "IT", "ARE"):
                assert tag.method in ("symbol", "name"), title
                if tag.method == "symbol":
                    assert tag.matched_text[0] in "($" or ":" in tag.matched_text, (title, tag)


def test_ambiguous_symbols():
    assert is_ambiguous_symbol("A") and is_ambiguous_symbol("ALL") and is_ambiguous_symbol("LOW")
    assert is_ambiguous_symbol("GE")  # two letters: too many abbreviations collide
    assert is_ambiguous_symbol("ETN") and is_ambiguous_symbol("CMS")
    assert not is_ambiguous_symbol("AAPL") and not is_ambiguous_symbol("ADP")


def test_name_aliases():
    assert name_aliases("Agilent Technologies Inc") == ("Agilent Technologies", "Agilent")
    assert name_aliases("Amazon.com Inc.") == ("Amazon.com", "Amazon")
    assert name_aliases("Coca-Cola Company (The)") == ("Coca-Cola",)
    assert name_aliases("Alphabet Inc Class A") == ("Alphabet",)
    assert name_aliases("Arthur J. Gallagher & Co.") == ("Arthur J. Gallagher",)  # Arthur: a first name
    assert name_aliases("Baker Hughes, a GE Company") == ("Baker Hughes",)
    assert name_aliases("Goldman Sachs Group") == ("Goldman Sachs",)  # Goldman: a surname


def test_vendor_tickers_win_over_the_matcher(tagger):
    title = "Indonesia and Apple said to agree on terms to lift iPhone 16 ban"
    assert [t.ticker for t in tag_article(["AAPL"], title, tagger)] == ["AAPL"]
    assert [t.method for t in tag_article(["AAPL"], title, tagger)] == ["vendor"]
    assert [(t.ticker, t.method) for t in tag_article([], title, tagger)] == [("AAPL", "name")]


def test_vendor_ticker_normalisation(tagger):
    # Yahoo related_tickers of a real row: "MSTR|STRK|DPZ|BTC-USD|BRK-B"
    given = "MSTR|STRK|DPZ|BTC-USD|BRK-B".split("|")
    assert normalize_vendor_tickers(given, tagger.tickers) == ["MSTR", "STRK", "DPZ", "BTC-USD", "BRK.B"]
    assert normalize_vendor_tickers(["^GSPC", " abbv ", "", None, "ABBV"], tagger.tickers) == ["^GSPC", "ABBV"]
