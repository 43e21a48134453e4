#!/usr/bin/env bash
# Runs examples/django's own tests with Django's test runner against the test PostgreSQL (PROJECTORD_TEST_PG)
# and Redis (PROJECTORD_TEST_REDIS): the tests start the daemon and a Celery worker themselves.
# Usage: django.sh SOURCE_DIR PROJECTORD_BINARY [TEST_LABEL...]   (e.g. users.tests.EndToEndTest)
set -euo pipefail
source_dir=$1
export PROJECTORD_BIN=$2
: "${PROJECTORD_TEST_PG:?the test PostgreSQL (scripts/test.sh sets it)}"
: "${PROJECTORD_TEST_REDIS:?the test Redis (scripts/test.sh sets it)}"

# The project's settings read libpq's variables. Django creates test_$PGDATABASE afresh and drops it at the
# end; a run cut short leaves it, so it is dropped here too.
for setting in $PROJECTORD_TEST_PG; do
  case $setting in
    host=*) export PGHOST=${setting#host=} ;;
    port=*) export PGPORT=${setting#port=} ;;
    user=*) export PGUSER=${setting#user=} ;;
    password=*) export PGPASSWORD=${setting#password=} ;;
  esac
done
export PGDATABASE="projectord_django_$$_$RANDOM"
trap 'psql -d postgres -qc "DROP DATABASE IF EXISTS test_$PGDATABASE" >/dev/null 2>&1 || true' EXIT

export CELERY_BROKER_URL=$PROJECTORD_TEST_REDIS
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the source tree
cd "$source_dir/examples/django"
/usr/bin/python3 manage.py test --noinput -v 2 "${@:3}"
