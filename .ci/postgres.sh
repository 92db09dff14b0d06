#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite.
#
#   .ci/postgres.sh install   install Debian's PostgreSQL unless some version is already there
#   .ci/postgres.sh start     initdb a fresh cluster in a temp dir, listen on 127.0.0.1 only,
#                             create database shopbot_test; prints `export TEST_POSTGRES_URL=...`
#                             on stdout (so `eval "$(.ci/postgres.sh start)"` works)
#   .ci/postgres.sh stop      stop it and delete its files
#
# Trust auth on 127.0.0.1: for local test use only. Progress goes to stderr.
# PG_PORT picks the port (default: 54329 if free, else any free one); PG_STATE_FILE is where
# `start` leaves what `stop` needs: by default .ci/.postgres-state in this checkout (ignored
# by git), so each checkout has its own cluster and `stop` never touches another's. The
# state also names the checkout that started the cluster; `stop` leaves a cluster alone that
# another checkout started (say, PG_STATE_FILE pointing at a shared file).
set -euo pipefail

CHECKOUT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
STATE_FILE=${PG_STATE_FILE:-$CHECKOUT/.ci/.postgres-state}
DB_NAME=shopbot_test

log() { echo "[postgres] $*" >&2; }

# The newest /usr/lib/postgresql/<ver>/bin with real server binaries (not /usr/local wrappers).
find_bindir() {
    local dir
    for dir in $(printf "%s\n" /usr/lib/postgresql/*/bin | sort -V -r); do
        if [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres ]]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

# PostgreSQL refuses to run as root: run its tools as the postgres system user then.
as_pg() {
    if [[ $(id -u) == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

port_is_free() {
    python3 - "$1" <<'EOF'
import socket, sys
with socket.socket() as s:
    try:
        s.bind(("127.0.0.1", int(sys.argv[1])))
    except OSError:
        sys.exit(1)
EOF
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cmd_install() {
    if bindir=$(find_bindir); then
        log "found $("$bindir/postgres" --version) in $bindir, not installing"
        return 0
    fi
    log "installing PostgreSQL from Debian packages"
    local i
    for i in 1 2 3; do
        apt-get update -qq && break
        log "apt-get update failed (try $i), retrying"
        sleep 5
    done
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        postgresql postgresql-client >&2
    find_bindir >/dev/null || { log "no initdb/pg_ctl under /usr/lib/postgresql/*/bin"; exit 1; }
}

cmd_start() {
    local bindir dir port url
    bindir=$(find_bindir) || { log "PostgreSQL is not installed (run: $0 install)"; exit 1; }
    [[ -f $STATE_FILE ]] && cmd_stop
    if [[ $(id -u) == 0 ]] && ! id postgres >/dev/null 2>&1; then
        useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/sh postgres
    fi
    port=${PG_PORT:-54329}
    if [[ -z ${PG_PORT:-} ]] && ! port_is_free "$port"; then
        port=$(free_port)
    fi
    dir=$(mktemp -d "${TMPDIR:-/tmp}/shopbot-pg.XXXXXX")
    chmod 700 "$dir"
    [[ $(id -u) == 0 ]] && chown postgres:postgres "$dir"
    printf 'PG_CHECKOUT=%q\nPG_DIR=%q\nPG_BINDIR=%q\n' "$CHECKOUT" "$dir" "$bindir" >"$STATE_FILE"
    cd "$dir"  # the postgres user may not be allowed into the caller's directory

    log "initdb ($("$bindir/postgres" --version)) in $dir"
    as_pg "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale --no-sync \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    # Durability is pointless for a throwaway cluster; these make the tests faster.
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o \
        "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        >&2 || { cat "$dir/server.log" >&2; exit 1; }
    local i
    for i in $(seq 1 60); do
        "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1 && break
        [[ $i == 60 ]] && { log "server did not become ready"; cat "$dir/server.log" >&2; exit 1; }
        sleep 0.5
    done
    as_pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DB_NAME"
    url="postgresql+asyncpg://postgres@127.0.0.1:$port/$DB_NAME"
    printf 'PG_PORT=%q\nTEST_POSTGRES_URL=%q\n' "$port" "$url" >>"$STATE_FILE"
    log "ready on 127.0.0.1:$port"
    echo "export TEST_POSTGRES_URL=$url"
}

cmd_stop() {
    [[ -f $STATE_FILE ]] || { log "not running (no $STATE_FILE)"; return 0; }
    local PG_CHECKOUT="" PG_DIR PG_BINDIR
    # shellcheck disable=SC1090
    source "$STATE_FILE"
    # (A state written before the checkout was recorded has none: it is stopped as before.)
    if [[ -n $PG_CHECKOUT && $PG_CHECKOUT != "$CHECKOUT" ]]; then
        log "the cluster in $STATE_FILE was started by $PG_CHECKOUT; not stopping it"
        return 1
    fi
    if [[ -f $PG_DIR/data/postmaster.pid ]]; then
        (cd / && as_pg "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >&2) ||
            log "pg_ctl stop failed"
    fi
    rm -rf "$PG_DIR" "$STATE_FILE"
    log "stopped"
}

case ${1:-} in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    *)
        echo "usage: $0 install|start|stop" >&2
        exit 2
        ;;
esac
