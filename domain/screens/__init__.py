"""Stock screens: the column registry (:mod:`.columns`), the screen model (:mod:`.spec`), its
SQL compiler (:mod:`.sql`) and the named presets (:mod:`.presets`)."""

from domain.screens.columns import MONEY_UNITS, Registry, ScreenerColumn, large_money_unit, registry
from domain.screens.presets import (
    NO_PRESET,
    PRESET_DESCRIPTIONS,
    preset,
    preset_names,
    presets,
)
from domain.screens.spec import (
    Range,
    ScreenSpec,
    Trend,
    spec_fields,
    spec_from_mapping,
    spec_to_mapping,
    with_sort,
)
from domain.screens.sql import (
    MARKET_COLUMN,
    SCREENER_TABLE,
    ScreenQuery,
    build_count_query,
    build_screen_query,
    build_where,
    currency_order,
)

__all__ = [
    "MARKET_COLUMN",
    "MONEY_UNITS",
    "NO_PRESET",
    "PRESET_DESCRIPTIONS",
    "SCREENER_TABLE",
    "Range",
    "Registry",
    "ScreenQuery",
    "ScreenSpec",
    "ScreenerColumn",
    "Trend",
    "build_count_query",
    "build_screen_query",
    "build_where",
    "currency_order",
    "large_money_unit",
    "preset",
    "preset_names",
    "presets",
    "registry",
    "spec_fields",
    "spec_from_mapping",
    "spec_to_mapping",
    "with_sort",
]
