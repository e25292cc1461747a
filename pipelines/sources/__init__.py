"""Vendor clients and parsers (one module per vendor), built on :mod:`pipelines.lib.http`."""
