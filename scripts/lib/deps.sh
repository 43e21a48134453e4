# shellcheck shell=bash
# Debian bookworm packages projectord needs to build, test and run its demo. Sourced by scripts/*.sh.
# Boost is pinned to the 1.81 packages: the unversioned libboost-*-dev names pull in 1.74.

PROJECTORD_PACKAGES=(
  g++ cmake make pkg-config python3 curl systemd
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libpqxx-dev libpq-dev libhiredis-dev libspdlog-dev catch2 libtomlplusplus-dev prometheus-cpp-dev
  libsystemd-dev zlib1g-dev libssl-dev
  postgresql-15 postgresql-client-15 redis-server
)

# What scripts/test.sh needs on top: a real Celery worker runs the celery side effect's tasks (its Redis
# transport needs python3-redis), examples/django's tests run on Django and psycopg2, openssl makes the webhook
# tests' certificates, strace watches the system calls the daemon makes (tests/syscalls), clang with its
# runtime libraries (libFuzzer, the sanitizers) builds the fuzz targets (tests/fuzz), and groff (groff-base)
# renders the man pages the build writes, which tests/blackbox/test_man_pages.cpp checks for its warnings.
# tests/package builds the Debian package (debhelper, dpkg-dev), lints it (lintian) and, as a user other than
# root, unpacks it with owners under fakeroot.
# pgbouncer pools in front of the throwaway server in transaction mode for the tests of [database] pooling.
# shellcheck disable=SC2034  # used by scripts/test.sh
PROJECTORD_TEST_PACKAGES=(python3-celery python3-redis python3-django python3-psycopg2 openssl strace clang
  libclang-rt-14-dev bsdextrautils groff-base debhelper dpkg-dev lintian fakeroot pgbouncer)

# What bench/run.sh needs on top: wrk loads /metrics in bench/metrics.
# shellcheck disable=SC2034  # used by bench/run.sh
PROJECTORD_BENCH_PACKAGES=(wrk)

# ensure_packages [PKG...]: installs the packages (default: PROJECTORD_PACKAGES) that are not installed yet;
# does nothing (and needs no network) when all are present. Runs apt-get as root, through sudo otherwise.
ensure_packages() {
  local missing=() pkg
  if (($# == 0)); then
    set -- "${PROJECTORD_PACKAGES[@]}"
  fi
  for pkg in "$@"; do
    # Captured rather than piped to grep -q, which under pipefail can fail on dpkg's SIGPIPE.
    if [[ $(dpkg -s "$pkg" 2>/dev/null) != *$'\nStatus: install ok installed'* ]]; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi

  local as_root=()
  if ((EUID != 0)); then
    if ! command -v sudo >/dev/null; then
      echo "ensure_packages: missing ${missing[*]}; run as root or install sudo" >&2
      return 1
    fi
    as_root=(sudo)
  fi
  echo "ensure_packages: installing ${missing[*]}" >&2
  "${as_root[@]}" apt-get update
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
}

# promtool (from Debian's prometheus package) checks the /metrics output in the tests. Installing the
# package would also install and, under systemd, start a Prometheus server; so the .deb is only unpacked
# into DIR (once) and the path of its promtool is printed.
ensure_promtool() {
  local dir=${1:?usage: ensure_promtool DIR}
  local promtool=$dir/usr/bin/promtool
  if [[ ! -x $promtool ]]; then
    mkdir -p "$dir"
    (cd "$dir" && apt-get download prometheus >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get download prometheus >/dev/null; })
    dpkg-deb -x "$dir"/prometheus_*.deb "$dir"
    rm -f "$dir"/prometheus_*.deb
  fi
  echo "$promtool"
}
