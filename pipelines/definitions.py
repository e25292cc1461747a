"""The Dagster code location: merges the ``defs`` of every folder under ``pipelines/defs``
and binds the shared resources. Adding a source means adding a folder there."""

from __future__ import annotations

import importlib
import pkgutil

from dagster import Definitions

import pipelines.defs
from pipelines.lib.resources import build_resources


def _folder_definitions() -> list[Definitions]:
    return [
        importlib.import_module(f"pipelines.defs.{module.name}").defs
        for module in pkgutil.iter_modules(pipelines.defs.__path__)
        if module.ispkg
    ]


defs = Definitions.merge(*_folder_definitions(), Definitions(resources=build_resources()))
