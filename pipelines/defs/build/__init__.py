"""The whole-warehouse build job and its weekday schedule."""

from dagster import Definitions

from pipelines.defs.build.jobs import warehouse_build_job
from pipelines.defs.build.schedules import weekday_after_close_schedule

defs = Definitions(jobs=[warehouse_build_job], schedules=[weekday_after_close_schedule])
