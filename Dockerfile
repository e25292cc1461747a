# One image for the Dagster webserver, the Dagster daemon and the Streamlit app.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 DAGSTER_HOME=/app/dagster_home
COPY pyproject.toml requirements.lock README.md ./
RUN pip install --no-cache-dir uv==0.13.8 \
 && uv pip install --system --no-cache -r requirements.lock
COPY . .
# data/sample/ comes in with the build context (run `make data` first); this checks every file
# against data/manifest.toml and fetches any that is missing from its public source.
RUN uv pip install --system --no-cache --no-deps -e . \
 && cp deploy/dagster.yaml "$DAGSTER_HOME/dagster.yaml" \
 && python -m domain.datasets --target data/sample
