#!/usr/bin/env bash
# Development server: Celery worker and beat in the background, runserver in the foreground.
# Ctrl-C (or the server exiting) stops all three. Started by `make run`; PORT=8000, VENV=.venv.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PORT="${PORT:-8000}"

pids=()
stop() {
  trap - INT TERM EXIT
  # TERM is Celery's warm shutdown: the worker finishes the task in hand, then exits.
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$VENV/bin/celery" -A o2c worker -l info --concurrency 2 &
pids+=("$!")
"$VENV/bin/celery" -A o2c beat -l info &
pids+=("$!")
"$VENV/bin/python" manage.py runserver "127.0.0.1:$PORT"
