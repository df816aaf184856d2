# O2C suite: everything a person runs. `make help` lists the targets.
#
#   make run     set up and start web + Celery worker + beat (embedded SQLite and broker)
#   make test    lint, checks and the test suite (uses PostgreSQL and Redis when they answer)
#
# Variables: PYTHON=/path/to/python3.12 (interpreter for the venv), PORT=8000 (make run),
# PYTEST_ARGS="-k foo" (make test), UPGRADE=1 (make lock).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
STAMP := $(VENV)/.installed-from-lock
PORT ?= 8000
PYTEST_ARGS ?=

# Debian package names. WeasyPrint needs Pango; the tests also read PDFs back with pdftotext,
# drive Debian's chromium with Playwright (never `playwright install`) and want a known font.
SYSDEPS_RUN := libpango-1.0-0 libpangoft2-1.0-0
SYSDEPS_TEST := $(SYSDEPS_RUN) fonts-dejavu-core poppler-utils chromium

.PHONY: help venv install sysdeps sysdeps-run migrate seed demo run worker beat test lint lock clean distclean dataset integrity bench load-test

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-10s %s\n", $$1, $$2}'

# --- Python and the virtualenv ---------------------------------------------------------------
# Django 6 needs Python 3.12+. Try the usual places and keep the first interpreter that really
# is 3.12+ (`python3.12` on PATH may be a pyenv shim that only prints an error).
define FIND_PYTHON
find_python() {
  local candidates=($(PYTHON) python3.13 python3.12 /root/.pyenv/versions/3.13*/bin/python /root/.pyenv/versions/3.12*/bin/python \
                    "$$HOME"/.pyenv/versions/3.1[23]*/bin/python /usr/bin/python3.13 /usr/bin/python3.12 python3)
  local c
  for c in "$${candidates[@]}"; do
    if "$$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
      "$$c" -c 'import sys; print(sys.executable)'
      return 0
    fi
  done
  return 1
}
endef

PY_TOO_OLD := Python 3.12+ is needed (Django 6). Install it: apt-get install python3.12 python3.12-venv, or pyenv install 3.12

$(PY):
	@$(FIND_PYTHON)
	python="$$(find_python)" || { echo "$(PY_TOO_OLD)" >&2; exit 1; }
	echo "Creating $(VENV) with $$python ($$("$$python" -V 2>&1))"
	"$$python" -m venv $(VENV) || { rm -rf $(VENV); echo "Could not create $(VENV) (on Debian/Ubuntu: apt-get install python3-venv or python3.12-venv)." >&2; exit 1; }

venv: $(PY) ## create .venv with Python 3.12+
	@$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' || {
	  echo "$(VENV) was made with $$($(PY) -V 2>&1). $(PY_TOO_OLD); then: rm -rf $(VENV) && make install" >&2; exit 1; }

$(STAMP): requirements.lock | venv
	@echo "Installing requirements.lock into $(VENV)"
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.lock
	touch $@

install: $(STAMP) ## install the locked dependencies into .venv (again only when requirements.lock changes)

# --- system libraries --------------------------------------------------------------------------
# Install what is missing when we are root or have sudo; otherwise print the command to run.
define ENSURE_SYSDEPS
missing=""
for pkg in $(1); do
  if command -v dpkg-query >/dev/null 2>&1; then
    dpkg-query -W -f='$${Status}' "$$pkg" 2>/dev/null | grep -q 'ok installed' && continue
  else
    case "$$pkg" in
      libpango-1.0-0) ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so' && continue ;;
      libpangoft2-1.0-0) ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so' && continue ;;
      fonts-dejavu-core) fc-list 2>/dev/null | grep -qi dejavu && continue ;;
      poppler-utils) command -v pdftotext >/dev/null 2>&1 && continue ;;
      chromium) command -v chromium >/dev/null 2>&1 && continue ;;
    esac
  fi
  missing="$$missing $$pkg"
done
if [ -n "$$missing" ]; then
  apt_cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y$$missing"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "Missing system packages (Debian names):$$missing. Install them with your package manager." >&2; exit 1
  elif [ "$$(id -u)" = 0 ]; then sudo=""
  elif command -v sudo >/dev/null 2>&1; then sudo="sudo"
  else echo "Missing system packages:$$missing. As root, run: $$apt_cmd" >&2; exit 1
  fi
  echo "Installing system packages:$$missing"
  { $$sudo apt-get update -q && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; } || {
    echo "Could not install:$$missing. As root, run: $$apt_cmd" >&2; exit 1; }
fi
endef

sysdeps: ## check (and install) the system packages the tests need
	@$(call ENSURE_SYSDEPS,$(SYSDEPS_TEST))

sysdeps-run:
	@$(call ENSURE_SYSDEPS,$(SYSDEPS_RUN))

# --- running it ----------------------------------------------------------------------------------
define DEMO_LOGINS
Demo logins, password "demo" for all:
  clerk      order clerk             ar         AR / collections
  credit     credit manager          finance    finance manager
  warehouse  warehouse               customer   customer (portal, /portal/)
  billing    billing clerk           admin      admin (also /admin/)
endef
export DEMO_LOGINS

migrate: install ## apply database migrations
	@$(MANAGE) migrate --noinput

seed: migrate
	@$(MANAGE) seed_demo

demo: seed ## load the demo data and users (safe to run again)
	@echo "$$DEMO_LOGINS"

run: sysdeps-run seed ## start web, Celery worker and beat (Ctrl-C stops all); PORT=8000
	@echo
	echo "O2C suite: http://127.0.0.1:$(PORT)"
	echo "$$DEMO_LOGINS"
	echo
	PORT=$(PORT) VENV=$(VENV) exec scripts/devserver.sh

worker: migrate ## start a Celery worker on its own
	@exec $(VENV)/bin/celery -A o2c worker -l info --concurrency 2

beat: migrate ## start Celery beat on its own
	@exec $(VENV)/bin/celery -A o2c beat -l info

# --- scale: dataset, integrity, benchmarks, load test (PostgreSQL: DATABASE_URL=postgres://...) -------
INVOICES ?= 1000000
BENCH ?= all
USERS ?= 50
RUN_TIME ?= 60
# Locust runs in an interpreter of its own (it brings gevent and monkey-patches; the app's venv stays lean).
LOCUST_VERSION := 2.47.0
LOAD_VENV := .venv-load

dataset: migrate ## generate a seeded dataset with COPY: INVOICES=1000000 (on an empty database)
	@$(MANAGE) generate_dataset --invoices $(INVOICES)

integrity: migrate ## the nightly integrity check: ledgers, stock, postings, gapless numbers
	@$(MANAGE) check_integrity

bench: migrate ## run benchmarks and write var/bench.json: BENCH="cycle pages aging cashapp dunning pdf" or all
	@$(MANAGE) bench $(BENCH) --json var/bench.json

$(LOAD_VENV)/bin/locust: | $(PY)
	@$(PY) -m venv $(LOAD_VENV)
	$(LOAD_VENV)/bin/pip install --disable-pip-version-check -q "locust==$(LOCUST_VERSION)"

load-test: migrate $(LOAD_VENV)/bin/locust ## gunicorn + Locust on loopback, USERS=50 RUN_TIME=60 -> var/load-test.json
	@$(MANAGE) load_test --users $(USERS) --run-time $(RUN_TIME) --locust $(LOAD_VENV)/bin/locust --json var/load-test.json

# --- tests and checks ------------------------------------------------------------------------------
# Without DATABASE_URL / REDIS_URL, use the local PostgreSQL and Redis when they answer (creating
# the o2c database; pytest-django creates test_o2c itself), else the embedded SQLite and broker.
# O2C_REQUIRE_POSTGRES=1 (CI) turns "not answering" into a failure.
# Python snippets reach the recipes through the environment: with .ONESHELL, make strips the
# leading whitespace of recipe lines, which Python's indentation would not survive.
define O2C_PG_PROBE
import psycopg
with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=3, autocommit=True) as conn:
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", ("o2c",)).fetchone():
        conn.execute("CREATE DATABASE o2c")
endef
define O2C_REDIS_PROBE
import redis
redis.Redis(host="127.0.0.1", port=6379, socket_timeout=2, socket_connect_timeout=2).ping()
endef
export O2C_PG_PROBE O2C_REDIS_PROBE

define DETECT_SERVICES
if [ -z "$${DATABASE_URL:-}" ] && $(PY) -c "$$O2C_PG_PROBE" 2>/dev/null; then
  export DATABASE_URL=postgres://postgres@127.0.0.1:5432/o2c
fi
if [ -z "$${REDIS_URL:-}" ] && $(PY) -c "$$O2C_REDIS_PROBE" 2>/dev/null; then
  export REDIS_URL=redis://127.0.0.1:6379/0
fi
case "$${DATABASE_URL:-}" in
  postgres://*|postgresql://*|pgsql://*) db="PostgreSQL $$(sed -E 's#^[a-z]+://([^@/]*@)?##' <<<"$$DATABASE_URL")" ;;
  "") db="embedded SQLite (no PostgreSQL answering on 127.0.0.1:5432)" ;;
  *) db="$${DATABASE_URL%%:*}" ;;
esac
broker="$${CELERY_BROKER_URL:-$${REDIS_URL:-}}"
echo "Database: $$db"
echo "Broker:   $${broker:-embedded filesystem broker (no Redis answering on 127.0.0.1:6379)}"
if [ "$${O2C_REQUIRE_POSTGRES:-}" = 1 ]; then
  case "$${DATABASE_URL:-}" in
    postgres://*|postgresql://*|pgsql://*) ;;
    *) echo "O2C_REQUIRE_POSTGRES=1: PostgreSQL is needed. Start it on 127.0.0.1:5432 (user postgres, trust auth) or set DATABASE_URL=postgres://..." >&2; exit 1 ;;
  esac
  [ -n "$${REDIS_URL:-}" ] || { echo "O2C_REQUIRE_POSTGRES=1: Redis is needed. Start it on 127.0.0.1:6379 or set REDIS_URL=redis://..." >&2; exit 1; }
fi
endef

define LINT
echo "==> ruff check";    $(VENV)/bin/ruff check .
echo "==> ruff format";   $(VENV)/bin/ruff format --check .
echo "==> lint-imports";  $(VENV)/bin/lint-imports
endef

lint: install ## ruff (lint + format check) and the import-layer contract
	@$(LINT)

test: sysdeps install ## lint, Django checks, then pytest; PYTEST_ARGS="-k foo"
	@$(DETECT_SERVICES)
	$(LINT)
	echo "==> makemigrations --check"; $(MANAGE) makemigrations --check --dry-run
	echo "==> check";                  $(MANAGE) check
	echo "==> check --deploy"
	DJANGO_ENV=production DJANGO_ALLOWED_HOSTS=o2c.example \
	DJANGO_SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(64))')" \
	  $(MANAGE) check --deploy --fail-level WARNING
	echo "==> pytest $(PYTEST_ARGS)"
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# --- dependencies -------------------------------------------------------------------------------------
# The lock holds exactly the packages pyproject.toml needs (runtime and dev, transitively), at the
# versions installed in .venv; dev-only lines end in "# dev" so the Dockerfile can leave them out.
# To change a version: edit pyproject.toml or `.venv/bin/pip install -U 'pkg==x.y'`, then `make lock`;
# `make lock UPGRADE=1` upgrades everything within the pyproject.toml ranges.
define O2C_PYPROJECT_REQUIREMENTS
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
print("\n".join(project["dependencies"] + [r for rs in project["optional-dependencies"].values() for r in rs]))
endef
define O2C_LOCK
import importlib.metadata as md
import platform
import sys
import tomllib

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

project = tomllib.load(open("pyproject.toml", "rb"))["project"]
installed = {canonicalize_name(d.metadata["Name"]): d for d in md.distributions()}
env = default_environment()


def closure(roots):
    """Names of the installed distributions the requirement strings need, transitively."""
    found, seen, todo = set(), set(), [Requirement(r) for r in roots]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if (name, frozenset(req.extras)) in seen:
            continue
        seen.add((name, frozenset(req.extras)))
        dist = installed.get(name)
        if dist is None:
            sys.exit(f"{req} is needed but not installed in .venv")
        if not req.specifier.contains(dist.version, prereleases=True):
            sys.exit(f"{req} is needed but .venv has {dist.version}")
        found.add(name)
        for sub in map(Requirement, dist.requires or []):
            extras = ("", *req.extras)
            if sub.marker is None or any(sub.marker.evaluate({**env, "extra": e}) for e in extras):
                todo.append(sub)
    return found


runtime = closure(project["dependencies"])
everything = closure(project["dependencies"] + [r for rs in project["optional-dependencies"].values() for r in rs])
print("# Exact versions of every package pyproject.toml needs (runtime and dev), tested together.")
print("# Install: make install   (.venv/bin/pip install -r requirements.lock)")
print("# Regenerate: make lock   (from .venv; UPGRADE=1 for the newest within the pyproject.toml ranges)")
print("# Lines ending in '# dev' are test/lint tools only; the Dockerfile leaves them out.")
print(f"# Generated with Python {platform.python_version()} on {sys.platform}.")
for name in sorted(everything):
    dist = installed[name]
    pin = f"{dist.metadata['Name']}=={dist.version}"
    print(pin if name in runtime else f"{pin}  # dev")
endef
export O2C_PYPROJECT_REQUIREMENTS O2C_LOCK

lock: venv ## regenerate requirements.lock from .venv (UPGRADE=1: newest within pyproject ranges)
	@$(PY) -c "$$O2C_PYPROJECT_REQUIREMENTS" > $(VENV)/pyproject-requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q $(if $(UPGRADE),--upgrade) -r $(VENV)/pyproject-requirements.txt
	$(PY) -c "$$O2C_LOCK" > requirements.lock.new
	mv requirements.lock.new requirements.lock
	touch $(STAMP)
	echo "requirements.lock: $$(grep -vc '^#' requirements.lock) packages"

# --- housekeeping ---------------------------------------------------------------------------------------
clean: ## remove caches and build output (keeps .venv and the data in var/)
	@find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache .import_linter_cache .hypothesis test-results var/staticfiles requirements.lock.new

distclean: clean ## also remove .venv and var/ (the embedded database, broker queue and media)
	@rm -rf $(VENV) var
