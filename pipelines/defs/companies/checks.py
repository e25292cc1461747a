"""Warning check: tickers of the price history without company reference data.

Such a ticker still gets prices, indicators and a screener row (``marts.dim_companies`` names
it 'Unknown', ``company_attributes_source = 'unknown'``); this check lists them so that the
reference files can be completed. WARN severity: it never blocks a build.
"""

from dagster import AssetCheckResult, AssetCheckSeverity, AssetKey, MetadataValue, asset_check

from pipelines.lib.resources import WarehouseResource

DIM_COMPANIES_KEY = AssetKey(["marts", "dim_companies"])
#: Tickers named in the check's metadata (the rest are counted).
LISTED = 200


@asset_check(
    asset=DIM_COMPANIES_KEY,
    name="companies_without_reference_data",
    blocking=False,
    description="Lists the tickers of the price history found in neither reference file "
    "(constituents, vendor fundamentals snapshot): name and sector 'Unknown'. Warns, never blocks.",
)
def companies_without_reference_data(warehouse: WarehouseResource) -> AssetCheckResult:
    with warehouse.connect() as wh:
        unknown = wh.fetch_frame(
            f"select ticker from {wh.table('marts', 'dim_companies')} "
            "where company_attributes_source = 'unknown' order by ticker"
        )
    tickers = unknown["ticker"].to_list()
    return AssetCheckResult(
        passed=not tickers,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "tickers_without_reference_data": len(tickers),
            "tickers": MetadataValue.text(", ".join(tickers[:LISTED]) + (f" … and {len(tickers) - LISTED} more" if len(tickers) > LISTED else "")),
        },
    )
