"""Publishing the built warehouse to readers (the atomic read-only snapshot)."""

from dagster import Definitions

from pipelines.defs.serving.assets import warehouse_snapshot

defs = Definitions(assets=[warehouse_snapshot])
