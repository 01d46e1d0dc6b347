# Two commands on a fresh machine with only Python 3.11+ and make: `make dev`, `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: dev test install bench clean

$(STAMP): pyproject.toml resolvers/package-lock.json
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@# The resolver linter needs Node; without it the lint test skips and says why.
	@if command -v npm >/dev/null; then npm ci --prefix resolvers --no-audit --no-fund --silent \
	  || echo "npm ci failed: resolver lint will be skipped"; \
	  else echo "node not found: resolver lint will be skipped"; fi
	touch $(STAMP)

install: $(STAMP)

dev: $(STAMP)
	$(BIN)/tenantry dev

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python -m bench.commands

clean:
	rm -rf $(VENV) .tenantry .pytest_cache .hypothesis
