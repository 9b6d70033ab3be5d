#!/usr/bin/env bash
# Instructor mode (`make demo`): every course notebook as a Voila page, code hidden, served on
# 127.0.0.1 only. Open http://127.0.0.1:PORT/ for the list of notebooks, or go straight to
# http://127.0.0.1:PORT/voila/render/00_start_here.ipynb. Each page load runs its notebook in
# a fresh kernel (a few seconds to half a minute); the controls answer once the page is drawn.
#
#   bash tools/demo.sh [PORT]                 (default 8866; what `make demo` runs)
#   DEMO_PREHEAT=1 bash tools/demo.sh         keep one pre-run kernel per notebook ready, so
#                                             the first page load of each is instant (costs
#                                             a minute of CPU at start and ~0.5 GB per notebook)
#   DEMO_THEME=dark bash tools/demo.sh        dark theme for a projector
#
# Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${1:-${DEMO_PORT:-8866}}
NOTEBOOK_DIR=${DEMO_NOTEBOOK_DIR:-notebooks}
VOILA=${VOILA:-.venv/bin/voila}
[ -x "$VOILA" ] || { echo "demo: $VOILA not found; run 'make setup' first" >&2; exit 1; }
[ -d "$NOTEBOOK_DIR" ] || { echo "demo: no $NOTEBOOK_DIR folder" >&2; exit 1; }

args=(
    "$NOTEBOOK_DIR"
    --no-browser
    --Voila.ip=127.0.0.1
    "--port=$PORT"
    --Voila.port_retries=0
    # Code hidden: only Markdown, outputs and the live widgets are shown.
    --VoilaConfiguration.strip_sources=True
    --VoilaConfiguration.show_tracebacks=True
    "--theme=${DEMO_THEME:-light}"
    # jupytext's frontend extension breaks Voila's page when it is installed: deny it (and its
    # older name); harmless when it is not installed.
    --VoilaConfiguration.extension_denylist=jupytext
    --VoilaConfiguration.extension_denylist=jupyterlab-jupytext
    # A notebook that hangs must not hold a page (and a kernel) forever.
    --VoilaExecutor.timeout=300
    --VoilaExecutor.startup_timeout=120
    --VoilaConfiguration.http_keep_alive_timeout=10
)
if [ "${DEMO_PREHEAT:-0}" = "1" ]; then
    args+=(--preheat_kernel=True)
fi

echo "demo: Voila on http://127.0.0.1:$PORT/ (code hidden); pages: /voila/render/<notebook>.ipynb"
exec "$VOILA" "${args[@]}"
