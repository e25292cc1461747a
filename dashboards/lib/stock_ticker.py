"""Which ticker a Stock page URL or search asks for.

:func:`resolve_ticker` matches a URL ticker to the warehouse's spelling: ``?ticker=nvda`` or
``?ticker=brk-b`` finds ``NVDA``, ``BRK.B``; a ticker the warehouse does not have finds nothing.

:func:`search` finds companies by what a user types: a ticker (as above), a KRX code or a part of
the company name in any language the warehouse holds it in (``dim_companies.company_name``:
English for US companies, Korean for KRX ones). KRX codes are six characters (digits; newer
preferred shares end in a letter, ``00499K``) and are never turned into numbers, so leading
zeros stay: ``005930`` is Samsung Electronics, and so are
``5930`` (a code typed without its leading zeros: digits only, at most six, padded with zeros)
and ``005930.KS`` / ``005930.KQ`` (Yahoo Finance's spelling). A name matches ignoring case,
spaces and Unicode width/compatibility forms (NFKC): ``삼성전자`` is exactly one company's name
(005930) even though ``삼성전자우`` (005935) contains it; ``삼성`` matches several companies, and
the page shows them to choose from.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import pandas as pd

#: Separators a user may type in a share-class ticker (``BRK.B``, ``BRK-B``, ``BRK/B``, ``BRK B``).
_SEPARATORS = re.compile(r"[.\-/ ]")
#: A KRX code as typed: one to six digits, optionally with Yahoo's market suffix (``.KS``, ``.KQ``).
_KRX_CODE = re.compile(r"(\d{1,6})(?:\.K[SQ])?", re.IGNORECASE)
#: Length of a KRX code (``005930``).
KRX_CODE_LENGTH = 6


def _folded(ticker: str) -> str:
    return _SEPARATORS.sub(".", ticker.strip().upper())


def resolve_ticker(requested: str, tickers: Iterable[str]) -> str | None:
    """The ticker of ``tickers`` that ``requested`` names, in the warehouse's spelling, or None.

    An exact match wins; otherwise the comparison ignores case, surrounding blanks and the
    share-class separator (``.``, ``-``, ``/`` or a blank). When the folded form is ambiguous
    (two warehouse tickers that differ only in case or separator) nothing is returned.

    Raises:
        TypeError: ``requested`` is not a string.
    """
    if not isinstance(requested, str):
        raise TypeError(f"ticker must be a string, got {type(requested).__name__}")
    known = list(tickers)
    if requested in known:
        return requested
    wanted = _folded(requested)
    if not wanted:
        return None
    matches = [t for t in known if _folded(t) == wanted]
    return matches[0] if len(matches) == 1 else None


def krx_code(typed: str) -> str | None:
    """The six-character KRX code ``typed`` names (``5930``, ``005930``, ``005930.KS`` ->
    ``005930``), or None when it is not one to six digits (with an optional ``.KS``/``.KQ``)."""
    found = _KRX_CODE.fullmatch(typed.strip())
    return found.group(1).zfill(KRX_CODE_LENGTH) if found else None


def name_key(text: str) -> str:
    """``text`` as names are compared: NFKC-normalised, case-folded, without white space
    (``Apple Inc.`` -> ``appleinc.``, ``삼성 전자`` -> ``삼성전자``)."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def company_labels(companies: pd.DataFrame) -> dict[str, str]:
    """Ticker -> ``005930 · 삼성전자 (KOSPI)`` (ticker, company, market) of every row of
    ``companies`` (a frame with ``ticker``, ``company_name`` and ``market``), in its order."""
    rows = zip(companies["ticker"], companies["company_name"], companies["market"], strict=True)
    return {
        str(ticker): f"{ticker} · {name if isinstance(name, str) and name else ticker}"
        + (f" ({market})" if isinstance(market, str) and market else "")
        for ticker, name, market in rows
    }


def search(query: str, companies: pd.DataFrame) -> list[str]:
    """Tickers of ``companies`` (a frame with ``ticker`` and ``company_name``) that ``query``
    names, best first; ``[]`` for none or an empty query.

    In this order, the first rule that finds anything decides: the ticker
    (:func:`resolve_ticker`); the KRX code (:func:`krx_code`); the company name exactly
    (:func:`name_key`); then every ticker whose name or ticker contains ``query`` (names
    starting with it first, then by ticker). One result means the query names one company.

    Raises:
        TypeError: ``query`` is not a string.
    """
    if not isinstance(query, str):
        raise TypeError(f"query must be a string, got {type(query).__name__}")
    if not query.strip():
        return []
    tickers = [str(t) for t in companies["ticker"]]
    found = resolve_ticker(query, tickers)
    if found is not None:
        return [found]
    code = krx_code(query)
    if code is not None and code in tickers:
        return [code]
    wanted = name_key(query)
    names = [name_key(str(n)) if isinstance(n, str) else "" for n in companies["company_name"]]
    exact = [t for t, n in zip(tickers, names, strict=True) if n == wanted]
    if exact:
        return exact
    partial = [
        (not n.startswith(wanted), t)
        for t, n in zip(tickers, names, strict=True)
        if wanted in n or wanted in name_key(t)
    ]
    return [t for _, t in sorted(partial)]
