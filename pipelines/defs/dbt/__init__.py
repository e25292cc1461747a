"""dbt models (staging, intermediate, marts) as Dagster assets."""
