"""The build jobs: ``warehouse_build`` (every asset: raw sources, dbt models and tests, snapshot)
and ``prices_update`` (the daily path: the price sources and what is downstream of them).

The run config picks the price sessions to load (:func:`warehouse_build_run_config`; none: the
source's whole history). The dbt models update from the first bar that changed (incremental
models, see ``dbt_project/README.md``), so a one-session run costs one session's work.
``prices_update`` leaves out what new price sessions cannot change (the company, SEC and news
sources and the dbt models built only from them: 18 of the 52 assets); it needs a built
warehouse (a first ``warehouse_build``). The ``alerts`` and ``backtests`` groups are left out of
both: ``alerts_evaluate`` and ``backtests_run`` run after a successful build (sensors, and
``pipelines.build``)."""

from __future__ import annotations

from typing import Any

from dagster import AssetKey, AssetSelection, define_asset_job

from pipelines.defs.portfolios.assets import rejected_portfolio_transactions
from pipelines.defs.prices.assets import PRICES_KEY
from pipelines.defs.prices.corporate_actions import CORPORATE_ACTIONS_KEY

warehouse_build_job = define_asset_job(
    name="warehouse_build",
    selection=AssetSelection.all() - AssetSelection.groups("alerts", "backtests"),
    description="Load prices (the sessions of the run config, default the whole source), reload company "
    "data, update the dbt models from the first changed bar with their tests, then publish the snapshot "
    "the app reads.",
)

#: The daily path: the price sources and every asset downstream of them (the alerts aside; the
#: rejected portfolio rows' spec is written by the portfolio load itself, not executable).
PRICES_UPDATE_SELECTION = AssetSelection.assets(AssetKey(PRICES_KEY), AssetKey(CORPORATE_ACTIONS_KEY)).downstream() - (
    AssetSelection.groups("alerts", "backtests") | AssetSelection.assets(rejected_portfolio_transactions.key)
)

prices_update_job = define_asset_job(
    name="prices_update",
    selection=PRICES_UPDATE_SELECTION,
    description="The daily path into a built warehouse: load the price sessions of the run config and the "
    "corporate actions, update the dbt models downstream of them from the first changed bar (with their "
    "tests), then publish the snapshot. Company, SEC and news data are left as the last warehouse_build "
    "loaded them.",
)


def warehouse_build_run_config(
    first_session: str | None = None,
    last_session: str | None = None,
    allow_shrink: bool = False,
    price_feeds: list[str] | None = None,
) -> dict[str, Any]:
    """Run config of ``warehouse_build`` and ``prices_update``: load the sessions ``first_session..last_session``
    (``YYYY-MM-DD``; None: the source's first / latest session) of the ``price_feeds`` (``us``,
    ``krx``; None: PRICE_FEEDS); ``allow_shrink`` accepts a load that leaves far fewer rows in its
    window (see :class:`pipelines.defs.prices.assets.PricesConfig`)."""
    config: dict[str, Any] = {"allow_shrink": allow_shrink}
    if price_feeds:
        config["price_feeds"] = list(price_feeds)
    if first_session:
        config["first_session"] = first_session
    if last_session:
        config["last_session"] = last_session
    return {"ops": {"raw__prices_daily": {"config": config}}}
