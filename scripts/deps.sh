# Sourced by scripts/demo, scripts/test and the other scripts: installs the Debian packages the
# build needs when some are missing. Runs apt-get only as root and only when dpkg says something
# is absent, so a prepared machine pays one dpkg query.
#
# Groups (one line each, so that features add their packages without touching each other):
#   core      the library, its examples and the demo
#   test      the test suite, benchmarks and fuzzers
#   metrics   rcmgr::prometheus and the scrape test (prometheus-cpp's pull exposer, curl)
#   firmware  the Cortex-M build of the embedded node and its emulator
#   tools     small tools the test scripts call
rcmgr_packages_core=(cmake ninja-build g++ libboost-dev nlohmann-json3-dev)
rcmgr_packages_test=(clang librange-v3-dev catch2 libbenchmark-dev libclang-rt-14-dev)
rcmgr_packages_metrics=(prometheus-cpp-dev zlib1g-dev curl)
rcmgr_packages_firmware=(gcc-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm)
rcmgr_packages_tools=(pkg-config python3)

# rcmgr_install_deps [group...]   (default: core)
rcmgr_install_deps() {
  local groups=("$@")
  [ ${#groups[@]} -eq 0 ] && groups=(core)
  local wanted=() g p
  for g in "${groups[@]}"; do
    local -n list="rcmgr_packages_$g"
    wanted+=("${list[@]}")
    unset -n list
  done
  local missing=()
  for p in "${wanted[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
    return 1
  fi
  echo "== installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Every group: what scripts/test and CI need.
rcmgr_all_groups=(core test metrics firmware tools)

# Parallel build jobs: the machine's cores, at most 2 unless RCMGR_JOBS says otherwise.
rcmgr_jobs() {
  if [ -n "${RCMGR_JOBS:-}" ]; then echo "$RCMGR_JOBS"; return; fi
  local n
  n=$(nproc 2>/dev/null || echo 2)
  [ "$n" -gt 2 ] && n=2
  echo "$n"
}
