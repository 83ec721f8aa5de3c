# syntax=docker/dockerfile:1
# panbot: build a wheel (with its dependencies' wheels) in one stage, install it into a
# clean python:3.11-slim in the next. No compiler, no dev extras, no source tree in the
# final image. Build from the repository root: `docker build -t panbot .`

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY investigations ./investigations
COPY storage ./storage
# panbot's own wheel plus a wheel of every runtime dependency, the postgres extra included.
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]"

FROM python:3.11-slim
LABEL org.opencontainers.image.title="panbot" \
      org.opencontainers.image.description="Slack chat-ops bot for PAN-OS firewall alerts" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PANBOT_HTTP_HOST=0.0.0.0 \
    PANBOT_HTTP_PORT=3000
# Install offline, exactly the wheels the build stage made: panbot, its dependencies and
# the postgres extra's (psycopg); no dev extras. What was built is what runs.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/*.whl \
    && groupadd --gid 10001 panbot \
    && useradd --uid 10001 --gid 10001 --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin panbot \
    && mkdir -p /data \
    && chown 10001:10001 /data
# The working directory holds a `.env` if mounted, and the SQLite file when
# PANBOT_DATABASE_URL is left at its default (one process only; use PostgreSQL to scale).
WORKDIR /data
USER 10001
EXPOSE 3000
# /healthz answers 200 only when the database, the firewall and Slack are reachable.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('PANBOT_HTTP_PORT', '3000'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=3).status == 200 else 1)"]
ENTRYPOINT ["panbot"]
CMD ["run"]
