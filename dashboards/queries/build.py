"""Reads of the frame every page shares: which build the app shows."""

from __future__ import annotations

from domain.warehouse.readers import BuildInfo, Reader


def build_info(reader: Reader) -> BuildInfo | None:
    """The ``meta.build_info`` row, or None if it is empty.

    Raises:
        domain.warehouse.readers.WarehouseNotBuiltError: there is no build to read.
    """
    return reader.build_info()
