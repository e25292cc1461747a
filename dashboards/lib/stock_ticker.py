"""Which ticker a Stock page URL asks for: ``?ticker=nvda`` or ``?ticker=brk-b`` finds the
warehouse's spelling (``NVDA``, ``BRK.B``); a ticker the warehouse does not have finds nothing."""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Separators a user may type in a share-class ticker (``BRK.B``, ``BRK-B``, ``BRK/B``, ``BRK B``).
_SEPARATORS = re.compile(r"[.\-/ ]")


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
