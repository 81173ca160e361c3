#!/usr/bin/env bash
# Role test of database against PostgreSQL and MariaDB on THIS host (127.0.0.1 only; systemd need not be PID 1).
#   run.sh up      start both servers in the background and create the admin login dbadmin (and a foreign db)
#   run.sh test    each engine: converge, converge again (must be changed=0), --check --diff; MySQL: the schema
#                  fixture under another database name, and the Harbor user's isolation (verify_mysql.yml)
#   run.sh down    stop both servers
# Needs: apt packages postgresql and mariadb-server installed (`apt-get install -y postgresql mariadb-server`).
set -euo pipefail
cd "$(dirname "$0")/../../.."
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_COLLECTIONS_PATH=$PWD/build/collections:$PWD/.venv/lib/python3.11/site-packages
PB=tests/roles/database/converge.yml

idempotent() {
  local out; out=$(ansible-playbook "$@")
  echo "$out" | tail -n 2
  ! echo "$out" | grep -E 'changed=[1-9]|failed=[1-9]' >/dev/null
}

case "${1:-}" in
  up)
    pg_ctlcluster 15 main start || true
    install -d -o mysql -g mysql /run/mysqld
    mysqladmin ping >/dev/null 2>&1 || (setsid mysqld_safe --bind-address=127.0.0.1 >/tmp/mysqld_safe.log 2>&1 &)
    for _ in $(seq 30); do mysqladmin ping >/dev/null 2>&1 && break; sleep 1; done
    su postgres -c "psql -qc \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dbadmin') THEN
      CREATE ROLE dbadmin LOGIN SUPERUSER PASSWORD 'AdminPw-test1'; END IF; END \\\$\\\$\""
    mysql -e "CREATE USER IF NOT EXISTS 'dbadmin'@'localhost' IDENTIFIED BY 'AdminPw-test1';
      CREATE USER IF NOT EXISTS 'dbadmin'@'127.0.0.1' IDENTIFIED BY 'AdminPw-test1';
      GRANT ALL ON *.* TO 'dbadmin'@'localhost' WITH GRANT OPTION; GRANT ALL ON *.* TO 'dbadmin'@'127.0.0.1' WITH GRANT OPTION;
      CREATE DATABASE IF NOT EXISTS otherdb; CREATE TABLE IF NOT EXISTS otherdb.t (x int);"
    ;;
  test)
    for engine in postgresql mysql; do
      ansible-playbook $PB -e test_engine=$engine | tail -n 2
      idempotent $PB -e test_engine=$engine
      idempotent $PB -e test_engine=$engine --check --diff
    done
    ansible-playbook $PB -e test_engine=mysql -e test_schema=true -e test_database_name=harborreg | tail -n 2
    idempotent $PB -e test_engine=mysql -e test_schema=true -e test_database_name=harborreg
    ansible-playbook $PB -e test_engine=mysql | tail -n 2   # grants back on registry.*
    ansible-playbook tests/roles/database/verify_mysql.yml
    ;;
  down)
    mysqladmin shutdown || true
    pg_ctlcluster 15 main stop || true
    ;;
  *)
    echo "usage: $0 up|test|down" >&2
    exit 2
    ;;
esac
