# Two commands do all set-up on a fresh machine:
#   make run   - virtualenv, install, build the sample data if missing, serve on $HOST:$PORT
#   make test  - the same set-up, then the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 8000
SAMPLE  = data/sample/BUILD.json
VENDOR  = app/web/vendor/maplibre-gl.js

.PHONY: run test install sample web system browser clean
.DEFAULT_GOAL := run

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

$(SAMPLE): $(VENV)/.installed layers/sample/*.py layers/sample/*.csv
	$(PY) -m layers.sample.build --force

sample: $(SAMPLE)

# MapLibre GL JS for the /map page, from the npm registry (pinned in package-lock.json)
$(VENDOR): app/web/package.json app/web/package-lock.json
	cd app/web && npm ci --no-audit --no-fund --loglevel=error
	mkdir -p app/web/vendor
	cp app/web/node_modules/maplibre-gl/dist/maplibre-gl.js app/web/node_modules/maplibre-gl/dist/maplibre-gl.css \
	   app/web/node_modules/maplibre-gl/LICENSE.txt app/web/vendor/

web: $(VENDOR)

# Debian packages: CJK fonts and Pango for PDF reports (run); Chromium and poppler for the
# browser and PDF tests and PostGIS for the database backend (test; PostgreSQL itself runs on
# 127.0.0.1:5432 on these machines). Playwright never downloads a browser.
RUN_DEBS  = fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0
TEST_DEBS = chromium poppler-utils postgresql-15-postgis-3
define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
endef

system:
	$(call apt_install,$(RUN_DEBS))

browser: system
	$(call apt_install,$(TEST_DEBS))

run: sample web system
	HOST=$(HOST) PORT=$(PORT) $(PY) -m app

test: sample web browser
	$(PY) -m pytest

clean:
	rm -rf $(VENV) data/sample .pytest_cache app/web/node_modules app/web/vendor
