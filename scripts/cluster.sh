#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster on a loopback port, run by the postgres OS user.
#   scripts/cluster.sh start|stop|restart|env
# PGM_PGDATA / PGM_PORT choose another cluster; PGM_EXTRA_CONF is appended to its
# postgresql.conf when it is created (bench/run.sh uses both).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bindir=$("$here/pg_config.sh" --bindir)
pgdata=${PGM_PGDATA:-/tmp/pg_migrate_cluster}
port=${PGM_PORT:-54329}

as_postgres() {
    if [ "$(id -un)" = postgres ]; then "$@"
    elif [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"
    else sudo -u postgres "$@"; fi
}

case "${1:-start}" in
start)
    if [ ! -f "$pgdata/PG_VERSION" ]; then
        mkdir -p "$pgdata"
        chown postgres: "$pgdata" 2>/dev/null || sudo chown postgres: "$pgdata"
        as_postgres "$bindir/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
        cat >>"$pgdata/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '/tmp'
max_connections = 60
fsync = off
shared_buffers = 256MB
${PGM_EXTRA_CONF:-}
CONF
    fi
    if ! as_postgres "$bindir/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
        as_postgres env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE "$bindir/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w start >/dev/null
    fi
    echo "cluster running: psql -h 127.0.0.1 -p $port -U postgres   (data in $pgdata)"
    ;;
stop)
    if [ -f "$pgdata/PG_VERSION" ]; then
        as_postgres "$bindir/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
restart)
    "$0" stop && "$0" start
    ;;
destroy)
    "$0" stop
    rm -rf "$pgdata"
    ;;
*)
    echo "usage: $0 start|stop|restart|destroy" >&2
    exit 2
    ;;
esac
