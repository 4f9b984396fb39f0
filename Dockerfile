# The gateway's image: `gateway serve`, `gateway worker` and `gateway migrate` (docker-compose.yml).
# It runs as an unprivileged user (uid 10001, whom `gateway secrets generate` gives the secret
# files) and writes only to its data volume, /var/lib/gateway: the root file system may be
# read-only (Compose's read_only: true), nothing is compiled or cached at run time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GATEWAY_DATA_DIR=/var/lib/gateway

WORKDIR /src
COPY pyproject.toml README.md ./
COPY gateway gateway
COPY adapters adapters
COPY mappings mappings
COPY policies policies
# Installed, not run from the source tree, and its bytecode compiled now; then the tree goes.
RUN pip install . && python -m compileall -q /usr/local/lib/python3.11/site-packages \
    && rm -rf /src

RUN groupadd --system --gid 10001 gateway \
    && useradd --system --uid 10001 --gid gateway --no-create-home \
       --home-dir /var/lib/gateway --shell /usr/sbin/nologin gateway \
    && install -d -o gateway -g gateway -m 0700 /var/lib/gateway

USER 10001:10001
WORKDIR /var/lib/gateway
VOLUME /var/lib/gateway
EXPOSE 8000
CMD ["gateway", "serve", "--host", "0.0.0.0", "--port", "8000"]
