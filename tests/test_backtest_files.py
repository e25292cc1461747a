"""Strategy files of a folder (domain/backtests/files.py): listed by name without the temporary
files of a write, saved validated and atomically, read back equal; an invalid strategy (its name
included) writes nothing. Unit tests: the shipped examples and a temporary folder, no warehouse."""

from __future__ import annotations

import os

import pytest
import yaml

from domain.backtests.files import list_strategies, save_strategy, strategy_file
from domain.backtests.spec import StrategyError, dump_strategy, load_strategy, strategy_from_mapping
from tests.conftest import REPO_ROOT

SHIPPED = REPO_ROOT / "data" / "strategies"


def _shipped(name: str) -> dict:
    return yaml.safe_load((SHIPPED / f"{name}.yml").read_text(encoding="utf-8"))


def test_the_shipped_strategies_are_listed_and_named_after_their_files():
    paths = list_strategies(SHIPPED)
    assert [p.name for p in paths] == ["krx_momentum_top20.yml", "us_low_rsi_weekly.yml", "us_momentum_top20.yml"]
    assert [load_strategy(p).name for p in paths] == [p.stem for p in paths]


def test_listing_skips_hidden_temporary_and_other_files(tmp_path):
    for name in ("b.yml", "a.yaml", ".b.yml.x1y2.tmp", ".hidden.yml", "notes.txt", "c.yml.bak"):
        (tmp_path / name).write_text("x")
    (tmp_path / "folder.yml").mkdir()
    assert [p.name for p in list_strategies(tmp_path)] == ["a.yaml", "b.yml"]
    assert list_strategies(tmp_path / "missing") == []


def test_an_edited_strategy_is_saved_as_its_name_and_read_back_equal(tmp_path):
    data = _shipped("us_momentum_top20") | {"name": "us_momentum_top15", "top_n": 15, "cost_bps": 12.5}
    data["screen"] = {"preset": "Momentum", "filters": {"rsi_14": {"max": 80}, "text": "삼성"}}
    expected = strategy_from_mapping(data)

    written = save_strategy(tmp_path, data)

    assert written == tmp_path / "us_momentum_top15.yml" == strategy_file(tmp_path, "us_momentum_top15")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["us_momentum_top15.yml"]  # no temporary file left
    assert load_strategy(written) == expected
    assert load_strategy(written).spec_hash == expected.spec_hash
    text = written.read_text(encoding="utf-8")
    assert "삼성" in text  # UTF-8, not \uXXXX escapes
    assert text == dump_strategy(expected)
    assert load_strategy(written).top_n == 15 and load_strategy(written).screen.filters["rsi_14"] == {"max": 80}


def test_saving_a_spec_replaces_the_file_of_that_name(tmp_path):
    first = load_strategy(SHIPPED / "us_low_rsi_weekly.yml")
    save_strategy(tmp_path, first)
    second = strategy_from_mapping(_shipped("us_low_rsi_weekly") | {"top_n": 5})
    path = save_strategy(tmp_path, second)
    assert load_strategy(path) == second and load_strategy(path).top_n == 5
    assert [p.name for p in tmp_path.iterdir()] == ["us_low_rsi_weekly.yml"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "../escaped"}, "'name'"),
        ({"name": "with space"}, "'name'"),
        ({"name": ""}, "'name'"),
        ({"start": "2018-02-07", "end": "2014-01-01"}, "start 2018-02-07 must be before end 2014-01-01"),
        ({"rank_by": "company_name"}, "'company_name' is not a numeric sortable screener column"),
        ({"top_n": 0}, "'top_n'"),
    ],
)
def test_an_invalid_strategy_writes_nothing(tmp_path, changes, field):
    folder = tmp_path / "strategies"
    folder.mkdir()
    existing = folder / "us_momentum_top20.yml"
    existing.write_bytes((SHIPPED / "us_momentum_top20.yml").read_bytes())
    before = existing.read_bytes()
    with pytest.raises(StrategyError, match="field") as raised:
        save_strategy(folder, _shipped("us_momentum_top20") | changes)
    assert field in str(raised.value)
    assert str(folder) in str(raised.value)  # names the file it would have written
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["strategies", "us_momentum_top20.yml"]
    assert existing.read_bytes() == before


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    path = save_strategy(tmp_path, load_strategy(SHIPPED / "us_momentum_top20.yml"))
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save_strategy(tmp_path, strategy_from_mapping(_shipped("us_momentum_top20") | {"top_n": 3}))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["us_momentum_top20.yml"]
