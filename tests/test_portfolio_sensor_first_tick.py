"""``portfolio_files_sensor``'s first evaluation (no cursor: a new instance, the first ``make
demo`` after its build) does not redo the load the build just made: it compares the folder with
the files the last materialization of ``raw/portfolio_transactions`` read.

The unit tests record that materialization as the asset writes it; the integration test runs
the real asset (on a small priced warehouse), then evaluates the sensor against that instance.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from dagster import (
    AssetMaterialization,
    DagsterInstance,
    MetadataValue,
    RunRequest,
    SkipReason,
    build_sensor_context,
    materialize,
)

from domain.portfolios.store import file_sha256
from pipelines.defs.portfolios.assets import PORTFOLIO_TRANSACTIONS_KEY, portfolio_transactions
from pipelines.defs.portfolios.sensors import fingerprint_hash, last_loaded_files, portfolio_files_sensor
from pipelines.lib.resources import PortfolioFilesResource
from tests.conftest import resources_for, test_settings
from tests.test_portfolio_ingest import BAD, FIVE_TICKERS, GOOD  # the ingest tests' price and transaction files


def evaluate(instance: DagsterInstance, folder: Path, cursor: str | None = None):
    """One evaluation of the sensor on ``folder``: (its result, the cursor it leaves)."""
    resources = {"portfolio_files": PortfolioFilesResource(directory=str(folder))}
    context = build_sensor_context(instance=instance, cursor=cursor, resources=resources)
    return portfolio_files_sensor(context), context.cursor


def record_load(instance: DagsterInstance, folder: Path, files: dict[str, Path]) -> None:
    """Record a materialization of ``raw/portfolio_transactions`` with the metadata the asset
    writes about what it read (``portfolios_dir``, ``per_file`` with each file's SHA-256)."""
    per_file = {
        name: {"status": "loaded", "file_sha256": file_sha256(path.read_bytes())} for name, path in files.items()
    }
    instance.report_runless_asset_event(
        AssetMaterialization(
            asset_key=PORTFOLIO_TRANSACTIONS_KEY,
            metadata={"portfolios_dir": MetadataValue.path(str(folder)), "per_file": MetadataValue.json(per_file)},
        )
    )


@pytest.fixture()
def folder(tmp_path) -> Path:
    path = tmp_path / "portfolios"
    path.mkdir()
    return path


def test_first_tick_after_a_load_of_the_same_files_requests_nothing(folder):
    shutil.copy(GOOD, folder)
    with DagsterInstance.ephemeral() as instance:
        record_load(instance, folder, {GOOD.name: GOOD})
        first, cursor = evaluate(instance, folder)
        assert isinstance(first, SkipReason)
        assert (
            first.skip_message == f"first evaluation: the 1 transaction file of {folder} are those the last load read"
        )
        assert json.loads(cursor) == {"generation": 0, "files": {GOOD.name: file_sha256(GOOD.read_bytes())}}

        again, same = evaluate(instance, folder, cursor)
        assert isinstance(again, SkipReason) and same == cursor

        (folder / GOOD.name).write_text(GOOD.read_text().replace(",20,", ",10,"))  # now a file changes
        changed, cursor = evaluate(instance, folder, cursor)
        assert isinstance(changed, RunRequest)
        assert changed.tags["portfolio_changes"] == "changed five_tickers_2017.csv"
        files = json.loads(cursor)["files"]
        assert changed.run_key == f"portfolios-1-{fingerprint_hash(files)[:16]}"


def test_first_tick_requests_the_files_changed_since_the_last_load(folder):
    shutil.copy(GOOD, folder)
    shutil.copy(BAD, folder)
    with DagsterInstance.ephemeral() as instance:
        record_load(instance, folder, {GOOD.name: BAD})  # the load read other bytes under that name
        first, cursor = evaluate(instance, folder)
        assert isinstance(first, RunRequest)
        assert (
            first.tags["portfolio_changes"] == "since the last load: added bad_2017.csv; changed five_tickers_2017.csv"
        )
        assert json.loads(cursor)["generation"] == 1


def test_a_load_of_another_folder_is_no_baseline(folder, tmp_path):
    shutil.copy(GOOD, folder)
    other = tmp_path / "elsewhere"
    other.mkdir()
    shutil.copy(GOOD, other)
    with DagsterInstance.ephemeral() as instance:
        record_load(instance, other, {GOOD.name: GOOD})
        assert last_loaded_files(instance, folder) is None
        assert last_loaded_files(instance, other) == {GOOD.name: file_sha256(GOOD.read_bytes())}
        first, _ = evaluate(instance, folder)
        assert isinstance(first, RunRequest)
        assert first.tags["portfolio_changes"] == "nothing loaded yet: added five_tickers_2017.csv"


def test_a_new_instance_with_an_empty_folder_requests_nothing(folder):
    with DagsterInstance.ephemeral() as instance:
        assert last_loaded_files(instance, folder) is None
        first, cursor = evaluate(instance, folder)
        assert isinstance(first, SkipReason) and "no transaction file in" in first.skip_message
        assert json.loads(cursor) == {"generation": 0, "files": {}}
        shutil.copy(GOOD, folder)
        added, _ = evaluate(instance, folder, cursor)
        assert isinstance(added, RunRequest) and added.tags["portfolio_changes"] == "added five_tickers_2017.csv"


@pytest.mark.integration
def test_first_tick_after_the_real_load_requests_nothing(priced_duckdb, folder, tmp_path):
    """The asset's own materialization (one good, one rejected file) is the baseline: nothing
    to do until a file changes."""
    shutil.copy(GOOD, folder)
    shutil.copy(BAD, folder)
    settings = test_settings(tmp_path, prices_csv=FIVE_TICKERS, portfolios_dir=folder)
    shutil.copy(priced_duckdb, settings.warehouse_path)
    with DagsterInstance.ephemeral() as instance:
        loaded = materialize([portfolio_transactions], resources=resources_for(settings), instance=instance)
        assert loaded.success
        first, cursor = evaluate(instance, folder)
        assert isinstance(first, SkipReason) and "are those the last load read" in first.skip_message
        (folder / BAD.name).unlink()
        deleted, _ = evaluate(instance, folder, cursor)
        assert isinstance(deleted, RunRequest) and deleted.tags["portfolio_changes"] == "deleted bad_2017.csv"
