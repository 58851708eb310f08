# Every target works as the first command on a fresh machine with only python3:
# it creates .venv and installs what it needs, and is quick the second time.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test lint bench format clean promtool stores

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-installs only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,dev,local]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test,dev,local,bench]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/videorecog demo --log-format console --log-level WARNING

# Debian packages the tests and benchmarks run, installed when missing (as root, or with sudo);
# the package lists are updated only when the first attempt fails. Their services are not started.
apt_install = SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); export DEBIAN_FRONTEND=noninteractive; \
	$$SUDO apt-get install -y --no-install-recommends $(1) >/dev/null \
	|| { $$SUDO apt-get update >/dev/null && $$SUDO apt-get install -y --no-install-recommends $(1) >/dev/null; }

# promtool (package prometheus) checks the alert rules, the Prometheus config and /metrics.
PROMTOOL := $(shell command -v promtool 2>/dev/null)
promtool:
ifeq ($(PROMTOOL),)
	@echo "installing promtool (Debian package prometheus)"
	@$(call apt_install,prometheus)
endif

# The tests use the machine's PostgreSQL and Redis when they run on their standard ports, and
# start private servers from these binaries otherwise (tests/stores.py).
REDIS_SERVER := $(shell command -v redis-server 2>/dev/null)
PG_CTL := $(shell command -v pg_ctl 2>/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null)
stores:
ifeq ($(REDIS_SERVER),)
	@echo "installing redis-server (Debian package redis-server)"
	@$(call apt_install,redis-server)
endif
ifeq ($(PG_CTL),)
	@echo "installing PostgreSQL (Debian package postgresql)"
	@$(call apt_install,postgresql)
endif

test: $(VENV)/.installed promtool stores
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check service tests bench
	$(BIN)/ruff format --check service tests bench
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

format: $(VENV)/.installed
	$(BIN)/ruff check --fix service tests bench
	$(BIN)/ruff format service tests bench

# TransNetV2 (a reference in bench/shots.py) decodes with the ffmpeg binary: Debian's ffmpeg
# package, installed when missing.
FFMPEG := $(shell command -v ffmpeg 2>/dev/null)
bench: $(VENV)/.installed-bench
ifeq ($(FFMPEG),)
	@echo "installing ffmpeg (Debian package ffmpeg)"
	@$(call apt_install,ffmpeg)
endif
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
