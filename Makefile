# PAKN Bot: `make run` starts the product in sandbox mode; `make test` runs every check.
# `--header-map dangerous` lets the sandbox stand-in read Zalo's `access_token` header (gunicorn
# drops headers with underscores by default); a production server does not need it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 5000
HOST ?= 127.0.0.1
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test
# Two workers (one per core of the reference machine); a module stays on one worker, so its
# module-scoped fixtures (the browser tests' server) are built once. PYTEST_PARALLEL= runs serially.
PYTEST_PARALLEL ?= -n 2 --dist loadfile
export PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)

.PHONY: install run web worker test test-sqlite test-pg lint pg-up clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/flask --app app db upgrade
	$(BIN)/flask --app app seed-demo
	@echo
	@echo "  Trình mô phỏng Zalo (simulator): $(PUBLIC_BASE_URL)/simulator"
	@echo "  Trang quản trị (console):        $(PUBLIC_BASE_URL)/admin/"
	@echo "  Tình trạng (health):             $(PUBLIC_BASE_URL)/healthz"
	@echo
	$(BIN)/flask --app app worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn --workers 4 --worker-class gthread --threads 2 --header-map dangerous \
		--bind $(HOST):$(PORT) --access-logfile - 'app:create_app()'

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-sqlite: install
	$(BIN)/pytest $(PYTEST_PARALLEL)

pg-up:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; \
		echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1

test-pg: install pg-up
	TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest $(PYTEST_PARALLEL)

test: lint test-sqlite test-pg

clean:
	rm -rf $(VENV) instance .ruff_cache
