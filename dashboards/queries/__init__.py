"""The app's reads of the warehouse, one module per page (``screener``, ``stock``, ``portfolio``,
``alerts``; ``build`` for the frame every page shares). Each function takes a
:class:`~domain.warehouse.readers.Reader` first and returns pandas frames (or plain values);
SQL uses ``?`` placeholders and table names from ``reader.table``."""


def is_missing_table(exc: Exception) -> bool:
    """True when a read failed because its table does not exist (yet): DuckDB's "Table with name
    ... does not exist" / "not found", PostgreSQL's "relation ... does not exist". The app may
    not import the drivers' error classes (only ``domain.warehouse`` imports them), so the
    message decides."""
    text = str(exc).lower()
    return "does not exist" in text or "not found" in text
