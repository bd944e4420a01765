# The same service as `make run`: install, build the sample data, serve on $HOST:$PORT.

# MapLibre GL JS for the /map page, from the npm registry (pinned by app/web/package-lock.json)
FROM node:20-slim AS web
WORKDIR /web
COPY app/web/package.json app/web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error \
 && mkdir vendor \
 && cp node_modules/maplibre-gl/dist/maplibre-gl.js node_modules/maplibre-gl/dist/maplibre-gl.css \
       node_modules/maplibre-gl/LICENSE.txt vendor/

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    ZONING_DATA_DIR=/srv/data/sample \
    ZONING_STATE_DIR=/srv/var

# CJK fonts and Pango for the PDF reports (WeasyPrint)
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /srv
COPY pyproject.toml README.md ./
COPY layers ./layers
COPY zoning ./zoning
COPY app ./app
COPY --from=web /web/vendor ./app/web/vendor
RUN pip install --no-cache-dir . \
 && python -m layers.sample.build --out /srv/data/sample \
 && useradd --system --home /srv zoning \
 && mkdir -p /srv/var && chown -R zoning /srv/data /srv/var

USER zoning
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["python", "-m", "app"]
