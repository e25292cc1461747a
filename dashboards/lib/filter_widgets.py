"""The screener's filter widgets, drawn once for every page that edits a screen (the Screener
and the Backtest page's strategy screen).

Keys, labels, display units and conversions come from :mod:`dashboards.lib.filter_form`; a page
gives a key ``prefix`` so its widgets do not share state with another page's (the Screener uses
none, the Backtest page ``bt_``), and an ``on_change`` callback (the Screener marks its preset
menu "Custom").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import streamlit as st

from dashboards.lib import filter_form as ff
from domain.screens import ScreenerColumn

TREND_LABELS = {"any": "Any", "above": "Above", "below": "Below"}

#: A form section: (registry group, title, expanded, caption or None).
Section = tuple[str, str, bool, str | None]


def filter_widget(
    column: ScreenerColumn, currency: str | None, prefix: str = "", on_change: Callable[[], None] | None = None
) -> None:
    """The input(s) of one registered filter, in the registry's display units (money in
    ``currency``; a money filter is off when the screen spans several currencies)."""
    off = ff.is_money_filter(column) and currency is None
    common = {"on_change": on_change, "persist_state": "session", "disabled": off}
    help_text = column.description or None
    if off:
        help_text = "Choose one market (or markets of one currency) to filter on money amounts: " + (help_text or "")
    if column.filter == "range":
        # the heading shows the field once; each input's own (collapsed) label names it too,
        # which is what a screen reader announces ("RSI 14 over", "RSI 14 under")
        st.markdown(f"**{column.input_label_in(currency)}**", help=help_text)
        low, high = st.columns(2)
        bounds = {"value": None, "step": column.step, "format": "%g", "label_visibility": "collapsed"}
        for container, bound in ((low, "min"), (high, "max")):
            container.number_input(
                ff.widget_label(column, bound, currency),
                key=prefix + ff.widget_key(column, bound),
                placeholder=ff.BOUND_WORDS[bound],
                **bounds,
                **common,
            )
    elif column.filter == "trend":
        st.radio(ff.widget_label(column), list(TREND_LABELS), format_func=TREND_LABELS.__getitem__,
                 key=prefix + ff.widget_key(column), horizontal=True, help=help_text, **common)  # fmt: skip
    elif column.filter == "flag":
        st.checkbox(ff.widget_label(column), key=prefix + ff.widget_key(column), help=help_text, **common)
    else:
        whole = column.unit == "count"
        st.number_input(
            ff.widget_label(column, currency=currency),
            key=prefix + ff.widget_key(column),
            value=None,
            min_value=0 if whole else 0.0,
            step=int(column.step) if whole else column.step,
            **({} if whole else {"format": "%g"}),
            placeholder="any",
            help=help_text,
            **common,
        )


def filter_sections(
    columns: Iterable[ScreenerColumn],
    sections: Sequence[Section],
    currency: str | None,
    prefix: str = "",
    on_change: Callable[[], None] | None = None,
) -> None:
    """One expander per section, in ``sections`` order, with the filters of its registry group
    (a group without filters draws nothing; a group no section names is drawn last, collapsed)."""
    columns = list(columns)
    named = {group for group, *_ in sections}
    extra = [(g, str(g).capitalize(), False, None) for g in dict.fromkeys(c.group for c in columns) if g not in named]
    for group, title, expanded, caption in [*sections, *extra]:
        members = [c for c in columns if c.group == group]
        if not members:
            continue
        with st.expander(title, expanded=expanded):
            if caption:
                st.caption(caption)
            for column in members:
                filter_widget(column, currency, prefix, on_change)
