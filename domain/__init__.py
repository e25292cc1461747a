"""The domain core shared by the pipelines (``pipelines/``) and the app (``dashboards/``).

Both import this package; neither imports the other (an import contract in ``pyproject.toml``,
checked by the test suite, enforces it).
"""
