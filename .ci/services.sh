#!/usr/bin/env bash
# Installs and starts, where absent, the servers the test suite talks to, and exports their DSNs.
# Sourced by .ci/run; a developer can source it too: `source .ci/services.sh`.
# Each step is skipped when what it provides already answers, so a second run costs seconds.

_apt_updated=
_apt_install() {
    if [ -z "$_apt_updated" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        _apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

_have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

ensure_postgres() {
    if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
        return 0
    fi
    _have_pkg postgresql || _apt_install postgresql
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    if [ -z "$version" ]; then
        version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
        pg_createcluster "$version" main >/dev/null
    fi
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    # The test DSN carries no password: trust loopback only, for this throwaway test cluster.
    if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
        sed -i '/^#/!{/127\.0\.0\.1\/32\|::1\/128/d}' "$hba"
        printf 'host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' >>"$hba"
    fi
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
        || pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    for _ in $(seq 1 30); do
        pg_isready -q -h 127.0.0.1 -p 5432 && break
        sleep 1
    done
    pg_isready -q -h 127.0.0.1 -p 5432
}

ensure_postgres_database() {
    psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" \
        | grep -q 1 || psql -h 127.0.0.1 -U postgres -qc 'CREATE DATABASE test'
}

_mariadb_answers() {
    mariadb -h 127.0.0.1 -P 3306 -u hub -phub -e 'CREATE DATABASE IF NOT EXISTS hub_probe; DROP DATABASE hub_probe' test >/dev/null 2>&1
}

ensure_mariadb() {
    if _mariadb_answers; then
        return 0
    fi
    _have_pkg mariadb-server || _apt_install mariadb-server
    if ! mariadb-admin ping --silent 2>/dev/null; then
        mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
        (mysqld_safe --bind-address=127.0.0.1 --port=3306 >/dev/null 2>&1 &)
        for _ in $(seq 1 60); do
            mariadb-admin ping --silent 2>/dev/null && break
            sleep 1
        done
    fi
    mariadb -u root <<'SQL'
CREATE DATABASE IF NOT EXISTS test;
CREATE USER IF NOT EXISTS 'hub'@'127.0.0.1' IDENTIFIED BY 'hub';
CREATE USER IF NOT EXISTS 'hub'@'localhost' IDENTIFIED BY 'hub';
-- Tests create a database each (hub_test_...): this throwaway server is theirs.
GRANT ALL PRIVILEGES ON *.* TO 'hub'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'hub'@'localhost';
FLUSH PRIVILEGES;
SQL
    _mariadb_answers
}

ensure_debian_tools() {
    # promtool checks metrics and alert rules; chromium renders the operations page in tests.
    local wanted=()
    command -v promtool >/dev/null || wanted+=(prometheus)
    command -v chromium >/dev/null || wanted+=(chromium)
    if [ ${#wanted[@]} -gt 0 ]; then
        _apt_install "${wanted[@]}"
    fi
    # The Debian package starts its own Prometheus server; the tests only need promtool.
    pkill -x prometheus 2>/dev/null || true
}

ensure_postgres
ensure_postgres_database
ensure_mariadb
ensure_debian_tools

export HUB_TEST_POSTGRES_DSN="${HUB_TEST_POSTGRES_DSN:-postgresql://postgres@127.0.0.1:5432/test}"
export HUB_TEST_MARIADB_DSN="${HUB_TEST_MARIADB_DSN:-mysql+pymysql://hub:hub@127.0.0.1:3306/test}"
