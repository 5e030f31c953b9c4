#!/usr/bin/env bash
# PostgreSQL 15's pg_config, whatever else is installed: prints its path, or runs it with arguments.
# PGM_PG_CONFIG points at another installation (a private copy, so parallel builds do not collide).
pgc=${PGM_PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
[ -x "$pgc" ] || pgc=$(command -v pg_config)
if [ $# -eq 0 ]; then echo "$pgc"; else exec "$pgc" "$@"; fi
