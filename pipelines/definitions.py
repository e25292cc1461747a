"""The Dagster code location: every definition under ``pipelines/defs/`` (loaded by Dagster's own
``load_from_defs_folder``), with the resources bound from the settings read once here.

Adding a source or concern means adding a folder under ``pipelines/defs/`` with ``assets.py``
(and ``checks.py``, ``jobs.py``, ``schedules.py``, ``sensors.py`` as it needs them).
"""

from __future__ import annotations

from pathlib import Path

from dagster import Definitions, definitions, load_from_defs_folder

from domain.settings import Settings
from pipelines.lib.resources import build_resources

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def build_definitions(settings: Settings, environ: dict[str, str] | None = None) -> Definitions:
    """The code location for ``settings``: the defs folder plus the resources built from them."""
    return Definitions.merge(
        load_from_defs_folder(path_within_project=PROJECT_ROOT),
        Definitions(resources=build_resources(settings, environ)),
    )


@definitions
def defs() -> Definitions:
    """Loaded by ``dagster dev`` / the webserver (``workspace.yaml``): settings from the environment."""
    return build_definitions(Settings())
