# Shared by the scripts in this folder: installing Debian packages and building. Sourced, not run.

ULUS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# What building and running Ulus needs from Debian 12.
ULUS_BUILD_PACKAGES=(
  build-essential cmake pkg-config ccache
  libboost1.81-dev libssl-dev libsqlite3-dev libpq-dev
  nlohmann-json3-dev libspdlog-dev libcli11-dev libyaml-cpp-dev libsodium-dev libp11-kit-dev libqrencode-dev
  libcairo2-dev libpango1.0-dev libcbor-dev zlib1g-dev fonts-noto-core libicu-dev
)
# What the tests add: GoogleTest, Google Benchmark, a PostgreSQL server, the linters.
ULUS_TEST_PACKAGES=(
  libgtest-dev libgmock-dev libbenchmark-dev postgresql clang-format clang-tidy openssl
  wrk nginx-light procps softhsm2
  poppler-utils zbar-tools python3-jwcrypto python3-cbor2 python3-cryptography
)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs the named Debian packages that are missing; runs apt-get update only when needed.
ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ccache keys on paths relative to the tree, so a fresh clone elsewhere still hits the cache.
export CCACHE_BASEDIR="$ULUS_ROOT" CCACHE_NOHASHDIR=1

# configure_and_build BUILD_DIR BUILD_TYPE [extra cmake args...]
configure_and_build() {
  local dir=$1 type=$2
  shift 2
  cmake -S "$ULUS_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
  cmake --build "$dir" -j"$(nproc)"
}
