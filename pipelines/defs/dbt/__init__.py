"""dbt models (staging, intermediate, marts) as Dagster assets."""

from dagster import Definitions

from pipelines.defs.dbt.assets import dbt_models

defs = Definitions(assets=[dbt_models])
