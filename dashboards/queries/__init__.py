"""The app's reads of the warehouse, one module per page (``screener``, ``stock``, ``portfolio``,
``alerts``; ``build`` for the frame every page shares). Each function takes a
:class:`~domain.warehouse.readers.Reader` first and returns pandas frames (or plain values);
SQL uses ``?`` placeholders and table names from ``reader.table``."""
