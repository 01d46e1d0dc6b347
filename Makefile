# Two commands on a fresh machine with only Python 3.11+ and make: `make dev`, `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Every transitive Python dependency, pinned and hashed; `make lock` writes it from pyproject.toml.
LOCK   := requirements.lock
# uv only writes the lock; installing never needs it.
UV_VERSION := 0.13.9

.PHONY: dev test install lock bench clean

CLIENTS := tests/e2e/clients
# GraphiQL and React, as their npm releases, for the console `tenantry dev` serves.
CONSOLE := platform/tenantry/console
# The browser test drives Debian's Chromium; never a browser that Playwright would download.
CHROMIUM := /usr/bin/chromium

$(STAMP): pyproject.toml $(LOCK) resolvers/package-lock.json $(CLIENTS)/package-lock.json $(CONSOLE)/package-lock.json
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# Exactly the locked versions, each checked against its hash (pip and the build backend too).
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	@# The project alone: its dependencies and its build backend came from the lock above.
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@# The resolver linter needs Node; without it the lint test skips and says why.
	@if command -v npm >/dev/null; then npm ci --prefix resolvers --no-audit --no-fund --silent \
	  || echo "npm ci failed: resolver lint will be skipped"; \
	  else echo "node not found: resolver lint will be skipped"; fi
	@# The JS client tests (Amplify, Apollo) need Node too; without it they skip and say why.
	@if command -v npm >/dev/null; then npm ci --prefix $(CLIENTS) --no-audit --no-fund --silent \
	  || echo "npm ci failed: the Amplify and Apollo client tests will be skipped"; \
	  else echo "node not found: the Amplify and Apollo client tests will be skipped"; fi
	@# The console's GraphiQL needs Node to install (never at run time); without it the console
	@# says so and the rest of `tenantry dev` works.
	@if command -v npm >/dev/null; then npm ci --prefix $(CONSOLE) --no-audit --no-fund --silent \
	  || echo "npm ci failed: the console will run without GraphiQL"; \
	  else echo "node not found: the console will run without GraphiQL"; fi
	@# Debian's Chromium for the browser test, where this machine lets us (root with apt-get);
	@# quiet, non-interactive, and never failing the install: otherwise the test skips.
	@if [ -x $(CHROMIUM) ]; then :; \
	  elif [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	    echo "$(CHROMIUM) missing (installing it needs root and apt-get): the browser test will be skipped"; \
	  else echo "installing Debian's chromium for the browser test"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -qq chromium >/dev/null 2>&1 \
	    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; } \
	    || echo "apt-get install chromium failed: the browser test will be skipped"; fi
	touch $(STAMP)

install: $(STAMP)

# Regenerates $(LOCK) from pyproject.toml; needs network to PyPI. uv is installed into a throwaway
# venv. Pins still allowed by pyproject.toml are kept; `make lock LOCK_FLAGS=--upgrade` moves all.
lock:
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  $(PYTHON) -m venv "$$tmp" && "$$tmp/bin/python" -m pip install --quiet uv==$(UV_VERSION) && \
	  $(PYTHON) tools/lock.py --uv "$$tmp/bin/uv" $(LOCK_FLAGS)

dev: $(STAMP)
	$(BIN)/tenantry dev

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python -m bench.commands

clean:
	rm -rf $(VENV) .tenantry .pytest_cache .hypothesis
