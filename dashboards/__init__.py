"""Streamlit app reading the published warehouse snapshot (``streamlit run dashboards/app.py``)."""
