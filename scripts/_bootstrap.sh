# Shared set-up for scripts/run and scripts/test: a project-local .venv made with
# the machine's python3, and the project installed into it (editable). Sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
EXTRAS="${1:-}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
STAMP="$VENV/.installed${EXTRAS:+-$EXTRAS}"
# Reinstall only when pyproject.toml changed since the last install.
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
    echo "installing the project into $VENV (log: $VENV/install.log)" >&2
    # The log is shown only when the install fails, so a normal start stays quiet.
    if ! "$VENV/bin/python" -m pip install --disable-pip-version-check \
            -e "$ROOT${EXTRAS:+[$EXTRAS]}" >"$VENV/install.log" 2>&1; then
        cat "$VENV/install.log" >&2
        echo "installing the project failed (full log above and in $VENV/install.log)" >&2
        exit 1
    fi
    touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
cd "$ROOT"
