"""The column registry (``meta.screener`` in the dbt YAML of mart_screener_latest): what it holds,
what derives from it, and its errors. Unit tests: the YAML files only, no warehouse."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dashboards.lib import filter_form as ff
from dashboards.lib import formatting as fmt
from dashboards.lib import tables
from domain.screens import Range, ScreenSpec, build_screen_query, registry, spec_from_mapping
from domain.screens.columns import RegistryError, load_registry, model_yaml
from domain.settings import DBT_PROJECT_DIR


def _model_columns(name: str) -> dict[str, dict]:
    [path] = sorted((DBT_PROJECT_DIR / "models").rglob(f"{name}.yml"))
    [model] = [m for m in yaml.safe_load(path.read_text())["models"] if m["name"] == name]
    return {c["name"]: c for c in model["columns"]}


def test_registry_is_the_yaml_of_the_mart():
    reg = registry()
    documented = _model_columns("mart_screener_latest")
    assert reg.source == model_yaml()
    assert set(reg.names) <= set(documented)
    for column in reg:
        assert column.description == " ".join(documented[column.name]["description"].split()), column.name
    labels = [c.label for c in reg]
    assert len(labels) == len(set(labels)), "one label per column, used everywhere"
    assert {"ticker", "close", "market_cap", "rsi_14", "return_252d", "news_count_7d"} <= set(reg.result_columns)
    assert reg.sort_columns["dividend_yield"] == "Dividend yield"


def test_alertable_columns_are_daily_indicators():
    """Alert rules evaluate ``fct_daily_indicators`` bar by bar, so an alertable column must be there."""
    indicators = _model_columns("fct_daily_indicators")
    alertable = registry().alert_columns
    assert {"rsi_14", "macd_hist", "relative_volume", "return_21d"} <= set(alertable)
    assert set(alertable) <= set(indicators)


def test_every_filter_key_compiles_and_round_trips_through_the_form():
    reg = registry()
    for key, column in reg.filters.items():
        value = {"range": Range(min=1.0), "minimum": 1, "flag": True, "trend": "above", "max_below": 0.1}[column.filter]
        spec = ScreenSpec(**{key: value})
        query = build_screen_query(spec)
        assert column.name in query.sql, key
        assert ff.spec_from_widgets(ff.widget_values(spec)) == spec, key


def _with_column(tmp_path: Path, name: str, meta: dict | None, description: str = "A test oscillator, 0-100.") -> Path:
    """A copy of the mart's YAML with one more column (``meta`` as its ``meta.screener``)."""
    document = yaml.safe_load(model_yaml().read_text())
    [model] = [m for m in document["models"] if m["name"] == "mart_screener_latest"]
    entry = {"name": name, "description": description}
    if meta is not None:
        entry["meta"] = {"screener": meta}
    model["columns"].append(entry)
    path = tmp_path / "mart_screener_latest.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_a_new_column_needs_only_its_yaml_entry(tmp_path):
    """Adding ``demo_osc`` to the YAML makes it a filter, a sort key, a result column, a form
    widget, a table column and an alertable column, with one label everywhere."""
    meta = {"label": "Demo oscillator", "unit": "index", "group": "technicals", "filter": "range", "step": 5,
            "sort": True, "alert": True}  # fmt: skip
    reg = load_registry(_with_column(tmp_path, "demo_osc", meta))
    column = reg["demo_osc"]
    assert reg.filters["demo_osc"] is column and reg.sort_columns["demo_osc"] == "Demo oscillator"
    assert reg.result_columns[-1] == "demo_osc" and "demo_osc" in reg.alert_columns
    assert {"scr_demo_osc_min", "scr_demo_osc_max"} <= set(ff.widget_keys(reg))
    spec = spec_from_mapping({"demo_osc": {"min": 20, "max": 80}, "sort_by": "demo_osc"}, reg)
    query = build_screen_query(spec)
    assert "demo_osc > ? AND demo_osc < ?" in query.sql and query.params == [20.0, 80.0]
    assert query.sql.startswith("SELECT ") and ", demo_osc, market FROM" in query.sql  # the market: each row's currency
    assert "ORDER BY demo_osc DESC NULLS LAST" in query.sql
    assert ff.spec_from_widgets({"scr_demo_osc_min": 20.0}, reg).filters == {"demo_osc": Range(min=20.0)}
    assert tables.registry_column_config(reg, ["demo_osc"])["demo_osc"]["label"] == "Demo oscillator"
    assert fmt.by_format(55.25, column.format, column.unit) == "55.2"


def test_display_units_come_from_the_registry():
    reg = registry()
    assert reg["dividend_yield"].input_label == "Dividend yield (%)"
    assert reg["dividend_yield"].to_input(0.031) == 3.1 and reg["dividend_yield"].from_input(3.1) == pytest.approx(0.031)
    assert reg["market_cap"].input_label == "Market cap (USD bn)" and reg["market_cap"].from_input(2.5) == 2.5e9
    # the won in 억 (10^8), as Korean screeners list market caps: 4,954,920 억 = 495.5 trillion won
    assert reg["market_cap"].input_label_in("KRW") == "Market cap (KRW 억)"
    assert reg["market_cap"].from_input(4_954_920, "KRW") == 495_492_000_000_000
    assert reg["market_cap"].to_input(495_491_951_650_000, "KRW") == 4_954_919.5165
    assert reg["market_cap"].input_label_in(None) == "Market cap" and reg["market_cap"].is_money
    assert not reg["rsi_14"].is_money and reg["close"].is_money
    assert reg["rsi_14"].input_label == "RSI 14"
    assert fmt.by_format(0.0312, reg["dividend_yield"].format, "fraction") == "3.12%"
    assert fmt.by_format(2.5e12, reg["market_cap"].format, "usd") == "$2.5T"
    assert fmt.by_format(495_491_951_650_000, reg["market_cap"].format, "usd", currency="KRW") == "₩495.5조"
    assert fmt.by_format(83_000, reg["close"].format, "usd_per_share", currency="KRW") == "₩83,000"
    assert fmt.by_format(None, "percent", "fraction") == fmt.MISSING
    assert tables.EMPTY_CELL == ""  # st.dataframe's placeholder: empty cells, not "None"


@pytest.mark.parametrize(
    ("meta", "problem"),
    [
        ({"unit": "index", "group": "technicals"}, "key 'label': required"),
        ({"label": "X", "unit": "furlongs", "group": "technicals"}, "key 'unit': 'furlongs' is not one of"),
        ({"label": "X", "unit": "index", "group": "technicals", "filter": "between"}, "key 'filter': 'between'"),
        ({"label": "X", "unit": "index", "group": "technicals", "filter": "max_below"}, "key 'filter_key': required"),
        ({"label": "X", "unit": "index", "group": "technicals", "colour": "red"}, "unknown keys ['colour']"),
        ({"label": "X", "unit": "text", "group": "identity", "alert": True}, "key 'alert': only numeric columns"),
        ({"label": "X", "unit": "index", "group": "technicals", "step": 0}, "key 'step': must be a number > 0"),
    ],
)
def test_a_bad_entry_names_the_file_the_column_and_the_key(tmp_path, meta, problem):
    path = _with_column(tmp_path, "bad_osc", meta)
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    assert f"{path}, column 'bad_osc', meta.screener" in str(caught.value)
    assert problem in str(caught.value)


def test_a_filter_key_is_used_once(tmp_path):
    meta = {"label": "Another RSI", "unit": "index", "group": "technicals", "filter": "range", "filter_key": "rsi_14"}
    with pytest.raises(RegistryError, match="filter key 'rsi_14' also used by 'rsi_14'"):
        load_registry(_with_column(tmp_path, "rsi_copy", meta))


def test_every_registered_column_is_in_the_built_marts(warehouse_con):
    """Integration: the registry names real columns of the built screener mart, and every
    alertable one is a column of the daily indicators the alert rules read."""
    def columns(table: str) -> set[str]:
        return {row[0] for row in warehouse_con.execute(f"describe marts.{table}").fetchall()}

    reg = registry()
    assert set(reg.names) <= columns("mart_screener_latest")
    assert set(reg.alert_columns) <= columns("fct_daily_indicators")
