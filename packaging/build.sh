#!/usr/bin/env bash
# Build the one-folder app: dist/workbench/workbench (run from anywhere).
#
#   packaging/build.sh                 use .venv if it exists, else create packaging/.build-venv
#   PYTHON=/path/to/python packaging/build.sh   build with that interpreter's environment
#
# The environment must have workbench installed (pip install -e .); PyInstaller is
# installed into it if missing. Output: dist/workbench/ and a line with its size.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then
        PYTHON=.venv/bin/python
    else
        python3 -m venv packaging/.build-venv
        PYTHON=packaging/.build-venv/bin/python
        "$PYTHON" -m pip install --upgrade pip
        "$PYTHON" -m pip install -c constraints.txt -e .
    fi
fi
"$PYTHON" -c "import workbench" 2>/dev/null || "$PYTHON" -m pip install -c constraints.txt -e .
"$PYTHON" -c "import PyInstaller" 2>/dev/null || "$PYTHON" -m pip install "pyinstaller>=6.10"

DIST="${WORKBENCH_DIST_DIR:-$ROOT/dist}"
WORK="${WORKBENCH_BUILD_DIR:-$ROOT/build/pyinstaller}"
start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$DIST" --workpath "$WORK" packaging/workbench.spec
end=$(date +%s)

APP="$DIST/workbench/workbench"
"$APP" --version
echo "built $APP in $((end - start)) s; folder size $(du -sh "$DIST/workbench" | cut -f1)"
