# Every target works as the first command on a fresh machine with only python3:
# it creates .venv and installs what it needs, and is quick the second time.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=
# Test processes (pytest-xdist): most integration tests wait on brokers and timeouts, not
# on the CPU. 0 runs everything in this one process.
TEST_WORKERS ?= 2

.PHONY: demo test lint bench format clean promtool chromium stores

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

# $(call apt_install,COMMAND,PACKAGE): install Debian's PACKAGE (as root, or with sudo), updating the
# package lists only when the first try fails.
define apt_install
	@echo "installing $(1) (Debian package $(2))"
	@SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	export DEBIAN_FRONTEND=noninteractive; \
	$$SUDO apt-get install -y --no-install-recommends $(2) >/dev/null \
	|| { $$SUDO apt-get update >/dev/null && $$SUDO apt-get install -y --no-install-recommends $(2) >/dev/null; }
endef

# promtool (Debian's prometheus package) checks the alert rules, the Prometheus config and the
# /metrics output in tests; installed when missing. The package's own service is not started.
PROMTOOL := $(shell command -v promtool 2>/dev/null)
promtool:
ifeq ($(PROMTOOL),)
	$(call apt_install,promtool,prometheus)
endif

# Chromium (Debian's chromium package) renders the storyboard page headless in a test; installed
# when missing.
CHROMIUM := $(shell command -v chromium 2>/dev/null)
chromium:
ifeq ($(CHROMIUM),)
	$(call apt_install,chromium,chromium)
endif

# The tests use the machine's PostgreSQL and Redis when they run on their standard ports, and
# start private servers from these binaries otherwise (tests/stores.py).
REDIS_SERVER := $(shell command -v redis-server 2>/dev/null)
PG_CTL := $(shell command -v pg_ctl 2>/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null)
stores:
ifeq ($(REDIS_SERVER),)
	$(call apt_install,redis-server,redis-server)
endif
ifeq ($(PG_CTL),)
	$(call apt_install,pg_ctl,postgresql)
endif

test: $(VENV)/.installed promtool chromium stores
	$(BIN)/python -m pytest -m "not slow" -n $(TEST_WORKERS) $(PYTEST_ARGS)

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
	$(call apt_install,ffmpeg,ffmpeg)
endif
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
