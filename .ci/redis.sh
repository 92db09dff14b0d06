#!/usr/bin/env bash
# A throwaway Redis server for the test suite.
#
#   .ci/redis.sh install   install Debian's redis-server unless one is already there
#   .ci/redis.sh start     start a server on 127.0.0.1 only, in a temp dir, with no persistence;
#                          prints `export TEST_REDIS_URL=...` on stdout (so
#                          `eval "$(.ci/redis.sh start)"` works)
#   .ci/redis.sh stop      stop it and delete its files
#
# No password, no persistence: for local test use only. Progress goes to stderr.
# REDIS_PORT picks the port (default: 63790 if free, else any free one); REDIS_STATE_FILE is
# where `start` leaves what `stop` needs: by default .ci/.redis-state in this checkout
# (ignored by git), so each checkout has its own server and `stop` never touches another's.
set -euo pipefail

CHECKOUT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
STATE_FILE=${REDIS_STATE_FILE:-$CHECKOUT/.ci/.redis-state}

log() { echo "[redis] $*" >&2; }

find_server() { command -v redis-server || { [[ -x /usr/bin/redis-server ]] && echo /usr/bin/redis-server; }; }

port_is_free() {
    python3 - "$1" <<'PY'
import socket, sys
with socket.socket() as s:
    try:
        s.bind(("127.0.0.1", int(sys.argv[1])))
    except OSError:
        sys.exit(1)
PY
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# PING over a plain socket (redis-cli may be absent when redis-server was installed alone).
ping() {
    python3 - "$1" <<'PY'
import socket, sys
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1) as s:
        s.sendall(b"PING\r\n")
        sys.exit(0 if s.recv(64).startswith(b"+PONG") else 1)
except OSError:
    sys.exit(1)
PY
}

cmd_install() {
    local server
    if server=$(find_server); then
        log "found $("$server" --version | head -n1) in $server, not installing"
        return 0
    fi
    log "installing redis-server from Debian packages"
    local i
    for i in 1 2 3; do
        apt-get update -qq && break
        log "apt-get update failed (try $i), retrying"
        sleep 5
    done
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        redis-server >&2
    # Debian's package starts a system server on 6379 where there is an init; the tests
    # use their own, so that one is left alone.
    find_server >/dev/null || { log "no redis-server after installing"; exit 1; }
}

cmd_start() {
    local server dir port url
    server=$(find_server) || { log "redis-server is not installed (run: $0 install)"; exit 1; }
    [[ -f $STATE_FILE ]] && cmd_stop
    port=${REDIS_PORT:-63790}
    if [[ -z ${REDIS_PORT:-} ]] && ! port_is_free "$port"; then
        port=$(free_port)
    fi
    dir=$(mktemp -d "${TMPDIR:-/tmp}/shopbot-redis.XXXXXX")
    printf 'REDIS_CHECKOUT=%q\nREDIS_DIR=%q\n' "$CHECKOUT" "$dir" >"$STATE_FILE"
    "$server" --bind 127.0.0.1 --port "$port" --dir "$dir" --save '' --appendonly no \
        --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >&2 ||
        { cat "$dir/redis.log" >&2 2>/dev/null; exit 1; }
    local i
    for i in $(seq 1 60); do
        ping "$port" && break
        [[ $i == 60 ]] && { log "server did not answer PING"; cat "$dir/redis.log" >&2; exit 1; }
        sleep 0.25
    done
    url="redis://127.0.0.1:$port/0"
    printf 'REDIS_PORT=%q\nTEST_REDIS_URL=%q\n' "$port" "$url" >>"$STATE_FILE"
    log "ready on 127.0.0.1:$port"
    echo "export TEST_REDIS_URL=$url"
}

cmd_stop() {
    [[ -f $STATE_FILE ]] || { log "not running (no $STATE_FILE)"; return 0; }
    local REDIS_CHECKOUT="" REDIS_DIR pid
    # shellcheck disable=SC1090
    source "$STATE_FILE"
    if [[ -n $REDIS_CHECKOUT && $REDIS_CHECKOUT != "$CHECKOUT" ]]; then
        log "the server in $STATE_FILE was started by $REDIS_CHECKOUT; not stopping it"
        return 1
    fi
    if [[ -f $REDIS_DIR/redis.pid ]]; then
        pid=$(<"$REDIS_DIR/redis.pid")
        if kill "$pid" 2>/dev/null; then
            local i
            for i in $(seq 1 40); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.25
            done
        fi
    fi
    rm -rf "$REDIS_DIR" "$STATE_FILE"
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
