#!/usr/bin/env bash
# Verify the Binder launch locally: build a fresh venv from binder/ alone, the way repo2docker
# reads it (the Python pinned in binder/runtime.txt, `pip install -r binder/requirements.txt`,
# then binder/postBuild run from the repository root), check that JupyterLab, the widget
# extension and the Voila server extension are there, and execute 00_start_here.ipynb and one
# heavier notebook in that environment.
#
#   bash tools/binder_check.sh            (what `make binder-check` runs)
#   BINDER_PYTHON=/path/to/python3.11 bash tools/binder_check.sh
#   BINDER_NOTEBOOKS="00_start_here.ipynb 03_x.ipynb" bash tools/binder_check.sh
#
# The venv goes to .binder-venv/ (ignored by git). It is built from scratch under CI=true or
# with BINDER_FRESH=1; otherwise a venv from an earlier run is reused while binder/ and the
# interpreter are unchanged. Prints the time of every step.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${BINDER_VENV:-$ROOT/.binder-venv}
START=$SECONDS
step() { echo "[binder-check +$((SECONDS - START))s] $*"; }
fail() { echo "[binder-check] FAIL: $*" >&2; exit 1; }

# --- what repo2docker reads -----------------------------------------------------------------
[ -d binder ] || fail "no binder/ folder"
for f in environment.yml Pipfile setup.py Project.toml install.R apt.txt; do
    # repo2docker picks its build pack from these; with binder/environment.yml it would use conda
    # and ignore requirements.txt, so the check would not test what Binder builds.
    [ ! -e "binder/$f" ] || fail "binder/$f exists: repo2docker would build from it, not from requirements.txt"
done
[ -f binder/runtime.txt ] || fail "binder/runtime.txt missing (repo2docker's default Python is too old for JAX)"
want=$(sed -n 's/^python-\([0-9][0-9.]*\)[[:space:]]*$/\1/p' binder/runtime.txt)
[ -n "$want" ] || fail "binder/runtime.txt must read python-X.Y; got: $(cat binder/runtime.txt)"
[ "$want" = "3.11" ] || fail "binder/runtime.txt pins python-$want; the course is tested on 3.11"
[ -f binder/requirements.txt ] || fail "binder/requirements.txt missing"
if grep -E -n '^[[:space:]]*(-e[[:space:]]|\.|/|file:)' binder/requirements.txt; then
    fail "binder/requirements.txt holds a local path: it defeats Binder's cached dependency layer (install the package in postBuild)"
fi
if grep -E -n -i '^[[:space:]]*(pytest|nbval|playwright|latex2mathml)[=<> ]' binder/requirements.txt; then
    fail "binder/requirements.txt holds test tools: a student's image carries the runtime only (requirements-dev.txt has them)"
fi
[ -f binder/postBuild ] || fail "binder/postBuild missing (it installs course_utils)"
shebang=$(head -n 1 binder/postBuild)
case "$shebang" in
    '#!'*) ;;
    *) fail "binder/postBuild has no #! line; repo2docker executes it directly" ;;
esac

PY=${BINDER_PYTHON:-$(command -v "python$want" || true)}
[ -n "$PY" ] || fail "python$want not found (set BINDER_PYTHON)"
got=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[ "$got" = "$want" ] || fail "$PY is Python $got, binder/runtime.txt pins $want"
step "binder/runtime.txt pins python-$want; using $PY (Python $got)"

# --- build the environment from binder/ alone ------------------------------------------------
# Under CI (and with BINDER_FRESH=1) the venv is always built from scratch. Elsewhere a venv
# left by an earlier run is reused when binder/runtime.txt, binder/requirements.txt and the
# interpreter are unchanged (pip's install is most of this check's time); postBuild always runs.
stamp=$( (cat binder/runtime.txt binder/requirements.txt; "$PY" -VV) | sha256sum | cut -c1-32)
if [ "${CI:-}" != "true" ] && [ "${BINDER_FRESH:-0}" != "1" ] && [ -f "$VENV/.binder-stamp" ] \
        && [ "$(cat "$VENV/.binder-stamp")" = "$stamp" ]; then
    step "reusing $VENV (binder/ unchanged since it was built; BINDER_FRESH=1 rebuilds it)"
else
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
    step "fresh venv in $VENV"
    "$VENV/bin/python" -m pip install --quiet -r binder/requirements.txt
    echo "$stamp" >"$VENV/.binder-stamp"
    step "pip install -r binder/requirements.txt done"
fi
# repo2docker runs postBuild from the repository root with the environment's python on PATH.
interp=${shebang#\#!}
had_build=no; [ -e build ] && had_build=yes
log=$(mktemp)
PATH="$VENV/bin:$PATH" VIRTUAL_ENV="$VENV" $interp binder/postBuild >"$log" 2>&1 || { cat "$log" >&2; fail "binder/postBuild"; }
rm -f "$log"
# setuptools leaves build/ behind in the work tree (ignored by git); keep the tree as it was
[ "$had_build" = yes ] || rm -rf build
step "binder/postBuild done"

# --- the installed environment is what Binder serves -------------------------------------------
where=$(cd /tmp && "$VENV/bin/python" -c 'import course_utils, os; print(os.path.dirname(course_utils.__file__))')
case "$where" in
    "$VENV"/*) step "course_utils installed in the Binder venv ($where)" ;;
    *) fail "course_utils comes from $where, not from the Binder venv" ;;
esac
exts=$("$VENV/bin/jupyter" server extension list 2>&1)
echo "$exts" | grep -q "jupyterlab.*enabled" || fail "the jupyterlab server extension is not enabled"
echo "$exts" | grep -q "voila.server_extension.*enabled" || fail "the voila server extension is not enabled (the Binder Voila URL needs it)"
labexts=$("$VENV/bin/jupyter" labextension list 2>&1)
echo "$labexts" | grep -q "@jupyter-widgets/jupyterlab-manager.*enabled" || fail "the ipywidgets JupyterLab extension is missing"
step "server extensions jupyterlab + voila and the widget lab extension are enabled"
grep -q '"fetchNews": "false"' "$VENV/share/jupyter/lab/settings/overrides.json" 2>/dev/null \
    || fail "postBuild did not install JupyterLab's settings overrides (the news prompt would show)"
step "JupyterLab settings overrides installed (no news prompt)"

# --- execute the start notebook and one heavier notebook in it ------------------------------
# Default: the start notebook and 06 (the heaviest: it trains the widest networks and uses
# most of course_utils). Binder gives a session 1-2 GB of memory: the peak is printed.
heavy=$(cd notebooks && { ls 06_*.ipynb 2>/dev/null || true; } | head -n 1)
NOTEBOOKS=${BINDER_NOTEBOOKS:-00_start_here.ipynb $heavy}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for nb in $NOTEBOOKS; do
    [ -f "notebooks/$nb" ] || fail "notebooks/$nb not found"
    t0=$SECONDS
    # cwd = notebooks/ (as in JupyterLab); the kernel is the venv's own python3.
    # (run under a small Python wrapper that reports the peak memory of the kernel process)
    (cd notebooks && PATH="$VENV/bin:$PATH" "$VENV/bin/python" -c '
import resource, subprocess, sys
rc = subprocess.call(sys.argv[1:])
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"peak memory of the largest process: {peak:.0f} MB", file=sys.stderr)
sys.exit(rc)' "$VENV/bin/jupyter" nbconvert --to notebook --execute \
        --ExecutePreprocessor.timeout=600 --ExecutePreprocessor.kernel_name=python3 \
        --output-dir "$OUT" "$nb" >"$OUT/$nb.log" 2>&1) || { cat "$OUT/$nb.log" >&2; fail "executing $nb in the Binder venv"; }
    peak=$(sed -n 's/^peak memory of the largest process: //p' "$OUT/$nb.log")
    step "executed $nb in the Binder venv in $((SECONDS - t0))s (peak memory $peak)"
done
step "OK: Binder environment builds from binder/ alone and runs the notebooks"
