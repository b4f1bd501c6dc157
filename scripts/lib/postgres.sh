# A local PostgreSQL cluster for scripts/test (throwaway) and scripts/serve --postgres (kept).
# Sourced after common.sh, not run; needs the Debian postgresql package (add it to
# REQUIRED_PACKAGES before ensure_system_packages).
#
# A cluster lives in one folder DIR: DIR/data (the cluster), DIR/log (the server log),
# DIR/password (the superuser's password, mode 0600), DIR/port (the last port) and the Unix socket.
# The server listens on 127.0.0.1 only; its superuser is `clearinghouse`, with a password
# (scram-sha-256) for every connection. initdb and postgres refuse to run as root, so as root
# they run as the postgres OS user, which then owns DIR.

# Prints the bin folder of the newest installed PostgreSQL (15 on Debian 12).
pg_bin() {
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$bin" ] && [ -x "$bin/initdb" ] || die "no PostgreSQL server under /usr/lib/postgresql; apt-get install postgresql"
    echo "$bin"
}

# Prints a TCP port that is free on 127.0.0.1.
pg_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# pg_port_is_free PORT: whether the server could listen there (it binds with SO_REUSEADDR too).
pg_port_is_free() {
    python3 -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try: s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError: sys.exit(1)' "$1"
}

# pg_run COMMAND...: runs a PostgreSQL tool as the postgres user when we are root, else as us
# (from /, which that user can always enter; every path handed over is absolute).
pg_run() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

# pg_start_cluster DIR [SETTING=VALUE...]: creates the cluster in DIR on first use, starts it
# (or finds it running) and exports CLEARINGHOUSE_PG_DIR, CLEARINGHOUSE_PG_PORT and
# CLEARINGHOUSE_PG_PASSWORD. Extra settings go to the server for this start only, e.g. fsync=off.
pg_start_cluster() {
    local dir="$1"; shift
    local bin; bin=$(pg_bin)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    # pg_ctl -o splits its options on spaces, and the socket path goes there.
    [[ "$dir" != *[[:space:]]* ]] || die "the PostgreSQL folder '$dir' has white space in its path; choose another"
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || die "there is no postgres user; apt-get install postgresql"
        chown postgres:postgres "$dir"
        chmod 0700 "$dir"
        pg_run test -w "$dir" -a -x "$dir" || {
            # Name the topmost folder on the way that postgres cannot enter.
            local up="" part parts
            IFS=/ read -ra parts <<<"${dir#/}"
            for part in "${parts[@]}"; do up+="/$part"; pg_run test -x "$up" || break; done
            die "the postgres user cannot reach $dir ($up is closed to it); chmod o+x $up, or put the cluster elsewhere"
        }
    fi

    if [ ! -f "$dir/data/PG_VERSION" ]; then
        say "creating a PostgreSQL cluster in $dir"
        (umask 077 && python3 -c 'import secrets; print(secrets.token_hex(24))' >"$dir/password")
        # initdb runs as postgres and must read the password: it gets its own copy, removed after.
        install -m 0600 "$dir/password" "$dir/pwfile"
        [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$dir/pwfile"
        if ! pg_run "$bin/initdb" -D "$dir/data" -U clearinghouse --auth=scram-sha-256 --pwfile="$dir/pwfile" \
            -E UTF8 --locale=C >"$dir/initdb.log" 2>&1; then
            rm -f "$dir/pwfile"
            tail -n 20 "$dir/initdb.log" >&2
            die "initdb failed in $dir/data (log above, in $dir/initdb.log); remove $dir to start over"
        fi
        rm -f "$dir/pwfile"
    fi
    [ -s "$dir/password" ] || die "$dir/data has a cluster but $dir/password is missing; remove $dir to start over"
    local password; password=$(<"$dir/password")

    local port
    if pg_run "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        # Already running (an earlier scripts/serve): line 4 of postmaster.pid is its port.
        port=$(sed -n 4p "$dir/data/postmaster.pid")
        say "PostgreSQL already running in $dir on port $port"
    else
        port=$(cat "$dir/port" 2>/dev/null || true)
        [[ "$port" =~ ^[0-9]+$ ]] && pg_port_is_free "$port" || port=$(pg_free_port)
        say "starting PostgreSQL in $dir on 127.0.0.1:$port"
        # Enough connections for the tests' many pools, and locks for their wide transactions.
        local options="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c max_locks_per_transaction=256"
        local setting
        for setting in "$@"; do options+=" -c $setting"; done
        pg_run "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 30 -o "$options" start >/dev/null || {
            tail -n 20 "$dir/log" >&2 || true
            die "PostgreSQL did not start in $dir (log above, in $dir/log)"
        }
    fi
    echo "$port" >"$dir/port"

    local tries=0
    until "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1; do
        ((++tries < 30)) || {
            tail -n 20 "$dir/log" >&2 || true
            die "PostgreSQL in $dir does not answer on 127.0.0.1:$port after 30 s (log above, in $dir/log)"
        }
        sleep 1
    done
    export CLEARINGHOUSE_PG_DIR="$dir" CLEARINGHOUSE_PG_PORT="$port" CLEARINGHOUSE_PG_PASSWORD="$password"
}

# pg_stop_cluster DIR: stops the server at once (no checkpoint); nothing to do when it is not running.
pg_stop_cluster() {
    local dir="$1"
    [ -f "$dir/data/postmaster.pid" ] || return 0
    dir=$(cd "$dir" && pwd)
    say "stopping PostgreSQL in $dir"
    pg_run "$(pg_bin)/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
}

# pg_create_database DIR NAME: creates database NAME, owned by clearinghouse, unless it exists.
# The cluster must be running (pg_start_cluster DIR).
pg_create_database() {
    local dir="$1" name="$2"
    local port password
    port=$(cat "$dir/port" 2>/dev/null) && password=$(cat "$dir/password" 2>/dev/null) ||
        die "no PostgreSQL cluster in $dir; run pg_start_cluster $dir first"
    PGPASSWORD="$password" "$(pg_bin)/psql" -X -q -v ON_ERROR_STOP=1 -v name="$name" \
        -h 127.0.0.1 -p "$port" -U clearinghouse -d postgres >/dev/null <<'SQL' ||
SELECT format('CREATE DATABASE %I OWNER clearinghouse', :'name')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name') \gexec
SQL
        die "could not create database $name in the PostgreSQL cluster in $dir (see $dir/log)"
    say "PostgreSQL database $name ready on 127.0.0.1:$port"
}
