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

$(STAMP): pyproject.toml $(LOCK) resolvers/package-lock.json
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
