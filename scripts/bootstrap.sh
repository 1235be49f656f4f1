# Set-up shared by scripts/main-job.sh and scripts/test.sh; source it, don't run it.
#
# Idempotent: creates the virtualenv only when missing, reinstalls the package
# only when pyproject.toml changed, and installs system packages (graphviz,
# a JRE) only when their command is missing and we are root. Leaves the
# virtualenv active (PATH, VIRTUAL_ENV) for the caller.
#
# Environment: PYTHON=/path/to/python3.11+ picks the interpreter for a new
# .venv; an already active virtualenv (VIRTUAL_ENV) is used instead of .venv.

_mb_log() { printf 'bootstrap: %s\n' "$*" >&2; }

_mb_is_root() { [ "$(id -u)" -eq 0 ]; }

_MB_APT_UPDATED=0
_mb_apt() {
    # apt's progress goes to a log, shown only when it fails
    local log rc=0
    log=$(mktemp)
    DEBIAN_FRONTEND=noninteractive apt-get "$@" >"$log" 2>&1 || rc=$?
    [ "$rc" -eq 0 ] || { tail -n 20 "$log" >&2; _mb_log "error: apt-get $* failed"; }
    rm -f "$log"
    return "$rc"
}
_mb_apt_install() {
    # apt-get update once per run: a fresh Debian image has no package lists.
    if [ "$_MB_APT_UPDATED" -eq 0 ]; then
        _mb_apt update || return 1
        _MB_APT_UPDATED=1
    fi
    _mb_apt install -y "$@"
}

_mb_python_ok() {
    "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1
}

_mb_venv() {
    if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
        MB_VENV="$VIRTUAL_ENV"
    else
        MB_VENV="$MB_ROOT/.venv"
    fi
    if [ -x "$MB_VENV/bin/python" ]; then
        if ! _mb_python_ok "$MB_VENV/bin/python"; then
            _mb_log "error: $MB_VENV has Python $("$MB_VENV/bin/python" -V 2>&1); Python >= 3.11 is required" \
                "(remove $MB_VENV, or set PYTHON=/path/to/python3.11 and remove it)"
            return 1
        fi
        return 0
    fi
    local py="${PYTHON:-python3}"
    if ! command -v "$py" >/dev/null 2>&1 && _mb_is_root && command -v apt-get >/dev/null 2>&1; then
        _mb_log "installing python3 (apt-get)"
        _mb_apt_install python3 python3-venv || return 1
    fi
    if ! command -v "$py" >/dev/null 2>&1; then
        _mb_log "error: $py not found; install Python >= 3.11 (Debian: apt-get install python3 python3-venv)"
        return 1
    fi
    if ! _mb_python_ok "$py"; then
        _mb_log "error: Python >= 3.11 is required, but $py is $("$py" -V 2>&1);" \
            "install a newer Python and run again with PYTHON=/path/to/python3.11"
        return 1
    fi
    # Debian ships venv's ensurepip separately (python3-venv / python3.X-venv).
    if ! "$py" -c 'import ensurepip, venv' 2>/dev/null; then
        if _mb_is_root && command -v apt-get >/dev/null 2>&1; then
            local ver
            ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
            _mb_log "installing python3-venv (apt-get)"
            _mb_apt_install python3-venv || _mb_apt_install "python$ver-venv" || return 1
        else
            _mb_log "error: $py cannot create virtualenvs; install it with: sudo apt-get install python3-venv"
            return 1
        fi
    fi
    _mb_log "creating $MB_VENV with $("$py" -V 2>&1)"
    "$py" -m venv "$MB_VENV" || { _mb_log "error: '$py -m venv $MB_VENV' failed"; return 1; }
}

_mb_install() {
    # Reinstall only when the package metadata changed: the editable install
    # picks up source edits by itself, and skipping pip keeps reruns offline.
    local stamp="$MB_VENV/.membarrier-spec-installed" want
    want="$(cksum <"$MB_ROOT/pyproject.toml") $MB_ROOT"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
        && "$MB_VENV/bin/python" -c 'import membarrier_spec' 2>/dev/null; then
        return 0
    fi
    _mb_log "installing membarrier-spec (pip install -e '.[test]')"
    "$MB_VENV/bin/python" -m pip install --disable-pip-version-check -q -e "$MB_ROOT[test]" || {
        _mb_log "error: pip install -e '.[test]' failed"; return 1; }
    printf '%s\n' "$want" >"$stamp"
}

# _mb_tool COMMAND PACKAGE WHAT: install PACKAGE when COMMAND is missing and we
# are root; otherwise say what to install. Never fails: only the steps that need
# the tool do (see bootstrap_require), and tests skip with a reason without it.
_mb_tool() {
    local cmd="$1" pkg="$2" what="$3"
    command -v "$cmd" >/dev/null 2>&1 && return 0
    if _mb_is_root && command -v apt-get >/dev/null 2>&1; then
        _mb_log "installing $pkg for $what (apt-get)"
        if [ "$pkg" = default-jre-headless ]; then
            # slim Debian images lack this directory and the JRE's postinst fails without it
            mkdir -p /usr/share/man/man1
        fi
        _mb_apt_install "$pkg" || _mb_log "warning: apt-get install $pkg failed; $what will not work"
    else
        _mb_log "note: '$cmd' not found; $what needs it. Install it with: sudo apt-get install $pkg"
    fi
}

# bootstrap_require COMMAND PACKAGE WHAT: for a step that cannot run without COMMAND.
bootstrap_require() {
    command -v "$1" >/dev/null 2>&1 && return 0
    _mb_log "error: '$1' not found; $3 needs it. Install it with: sudo apt-get install $2"
    return 1
}

_mb_main() {
    MB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || return 1
    _mb_venv || return 1
    _mb_install || return 1
    _mb_tool dot graphviz "rendering diagrams"
    _mb_tool java default-jre-headless "running TLC"
    export VIRTUAL_ENV="$MB_VENV"
    case ":$PATH:" in
        *":$MB_VENV/bin:"*) ;;
        *) export PATH="$MB_VENV/bin:$PATH" ;;
    esac
    hash -r
}

_mb_main
