"""What every page needs from its surroundings: the settings and the warehouse reader.

The settings are read from the environment once per app process (``st.cache_resource``), or
taken from ``st.session_state[SETTINGS_KEY]`` when a caller put a
:class:`~domain.settings.Settings` value there (the tests do, through ``AppTest``). The reader is
:func:`domain.warehouse.readers.open_reader` of those settings: the DuckDB snapshot, or the
PostgreSQL pool when ``WAREHOUSE_URL`` is set.
"""

from __future__ import annotations

import streamlit as st

from domain.settings import Settings
from domain.warehouse.readers import Reader, open_reader

#: Session-state key of an injected :class:`Settings` value.
SETTINGS_KEY = "app_settings"


@st.cache_resource(show_spinner=False)
def _environment_settings() -> Settings:
    return Settings()


def settings() -> Settings:
    """The app's settings (injected, else read from the environment once per process)."""
    injected = st.session_state.get(SETTINGS_KEY)
    return injected if isinstance(injected, Settings) else _environment_settings()


def reader() -> Reader:
    """The read-only warehouse reader of :func:`settings`."""
    return open_reader(settings())
