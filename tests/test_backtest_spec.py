"""Strategy files: validation errors name the file, the field and the problem (unit layer)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from domain.backtests.spec import StrategyError, dump_strategy, load_strategy, strategy_from_mapping
from domain.screens import Range, Trend

STRATEGIES = Path(__file__).resolve().parents[1] / "data" / "strategies"

VALID = {
    "name": "momentum_top20", "market": "US", "rank_by": "return_126d", "top_n": 20,
    "start": "2014-01-01", "end": "2018-02-07",
}  # fmt: skip


def test_defaults_and_markets():
    spec = strategy_from_mapping(VALID)
    assert (spec.rebalance, spec.weighting, spec.cost_bps, spec.benchmark, spec.descending) == (
        "monthly", "equal", 10.0, "EQUAL_WEIGHT", True)  # fmt: skip
    assert spec.start == date(2014, 1, 1)
    assert strategy_from_mapping({**VALID, "market": "KRX"}).markets == ("KOSPI", "KOSDAQ")
    assert strategy_from_mapping({**VALID, "market": "ALL"}).markets == ("US", "KOSPI", "KOSDAQ")


def test_a_preset_and_filters_combine_with_the_filters_winning():
    spec = strategy_from_mapping(
        {**VALID, "screen": {"preset": "Momentum", "filters": {"return_63d": {"min": 0.2}, "rsi_14": {"max": 80}}}}
    )
    screen = spec.screen_spec()
    assert screen.markets == ("US",)
    assert screen.return_63d == Range(min=0.2)  # the preset's 0.10 overridden
    assert screen.return_252d == Range(min=0.2) and screen.vs_sma_200 is Trend.ABOVE  # kept from the preset
    assert screen.rsi_14 == Range(max=80)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"market": "JP"}, "field 'market'"),
        ({"rank_by": "company_name"}, "field 'rank_by': 'company_name' is not a numeric sortable screener column"),
        ({"rank_by": "no_such"}, "field 'rank_by'"),
        ({"top_n": 0}, "field 'top_n'"),
        ({"cost_bps": -1}, "field 'cost_bps'"),
        ({"rebalance": "daily"}, "field 'rebalance'"),
        ({"weighting": "price"}, "field 'weighting'"),
        ({"start": "2018-02-07", "end": "2014-01-01"}, "start 2018-02-07 must be before end 2014-01-01"),
        ({"start": "someday"}, "field 'start'"),
        ({"screen": {"preset": "Nope"}}, "field 'screen.preset': unknown preset 'Nope'"),
        ({"screen": {"filters": {"rsi_14": {"max": 30, "min": 70}}}}, "rsi_14"),
        ({"screen": {"filters": {"pe": {"max": 15}}}}, "unknown screen field 'pe'"),
        ({"screen": {"filters": {"sort_by": "rsi_14"}}}, "cannot set markets, sort_by or limit"),
        ({"market": "KOSPI", "screen": {"preset": "Momentum"}, "extra": 1}, "field 'extra'"),
        (
            {"market": "KOSPI", "screen": {"preset": "Value: P/E < 15 and dividend yield > 3 %"}},
            "is meant for US, not for the strategy's market KOSPI",
        ),
        ({"name": "has space"}, "field 'name'"),
    ],
)
def test_bad_fields_are_named(change, message):
    with pytest.raises(StrategyError) as raised:
        strategy_from_mapping({**VALID, **change}, "strategies/x.yml")
    assert str(raised.value).startswith("strategies/x.yml: ")
    assert message in str(raised.value)


def test_files_name_themselves_in_errors(tmp_path):
    missing = tmp_path / "missing.yml"
    with pytest.raises(StrategyError, match="missing.yml: no such strategy file"):
        load_strategy(missing)
    broken = tmp_path / "broken.yml"
    broken.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(StrategyError, match="broken.yml: not valid YAML"):
        load_strategy(broken)
    listed = tmp_path / "list.yml"
    listed.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(StrategyError, match="list.yml: a strategy must be a mapping"):
        load_strategy(listed)


def test_the_hash_follows_the_content_and_a_dump_reads_back():
    spec = strategy_from_mapping(VALID)
    assert spec.spec_hash == strategy_from_mapping(dict(reversed(list(VALID.items())))).spec_hash
    assert spec.spec_hash != strategy_from_mapping({**VALID, "top_n": 21}).spec_hash
    import yaml

    assert strategy_from_mapping(yaml.safe_load(dump_strategy(spec))) == spec


def test_the_shipped_example_strategies_are_valid():
    found = sorted(STRATEGIES.glob("*.yml"))
    assert {p.stem for p in found} >= {"us_momentum_top20", "us_low_rsi_weekly", "krx_momentum_top20"}
    markets = {load_strategy(p).market for p in found}
    assert {"US", "KRX"} <= markets
