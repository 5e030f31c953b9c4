# pg_migrate: `make demo` tries it, `make test` runs every test, `make bench` measures.
# Every target installs what it needs first (Debian packages, cargo-pgrx 0.18.0).

PG_CONFIG := $(shell scripts/pg_config.sh 2>/dev/null || echo pg_config)
PGM_PORT  ?= 54329
PGRX_PGDATA ?= /tmp/pg_migrate_pgrx_test
PSQL       = $(shell scripts/pg_config.sh --bindir 2>/dev/null)/psql -X -h 127.0.0.1 -p $(PGM_PORT) -U postgres
SUDO_FLAG := $(if $(filter 0,$(shell id -u)),,--sudo)

.PHONY: setup build install demo test test-rust test-pg test-sql lint bench clean stop

setup:
	@scripts/setup.sh

build: setup
	cargo build --release

# Older versions' install scripts ship too, so ALTER EXTENSION ... UPDATE has a path.
install: setup
	scripts/build_sql.sh
	cargo pgrx install --release $(SUDO_FLAG) --pg-config $(PG_CONFIG)
	$(if $(SUDO_FLAG),sudo) install -m 644 sql/pg_migrate--0.1.0.sql sql/pg_migrate--0.2.0.sql sql/pg_migrate--0.3.0.sql sql/pg_migrate--0.4.0.sql sql/pg_migrate--0.5.0.sql sql/pg_migrate--0.6.0.sql sql/pg_migrate--0.6.1.sql sql/pg_migrate--0.6.2.sql $(shell $(PG_CONFIG) --sharedir)/extension/

demo: install
	@scripts/cluster.sh start
	@$(PSQL) -d postgres -c 'DROP DATABASE IF EXISTS pg_migrate_demo' -c 'CREATE DATABASE pg_migrate_demo' >/dev/null
	$(PSQL) -d pg_migrate_demo -v ON_ERROR_STOP=1 -f demo/walkthrough.sql
	@echo
	@echo "The demo cluster is still running. Try more with:"
	@echo "    $(PSQL) -d pg_migrate_demo"
	@echo "Stop it with: scripts/cluster.sh stop"

# Plain Rust tests and #[pg_test]s run together under cargo pgrx test.
test-pg: setup
	scripts/build_sql.sh
	cargo pgrx test pg15 --runas postgres --pgdata $(PGRX_PGDATA)

test-sql: install
	scripts/sql_tests.sh

# The built SQL scripts are up to date, the code is formatted, and clippy has nothing to say.
lint: setup
	scripts/build_sql.sh --check
	cargo fmt --check
	cargo clippy -- -D warnings

test: lint test-pg test-sql
	@echo "all tests passed"

bench: install
	bench/run.sh

stop:
	scripts/cluster.sh stop

clean: stop
	cargo clean
	rm -rf /tmp/pg_migrate_regress
