"""Helpers of the Streamlit app: snapshot access, screen SQL, filter form state, charts."""
