# Sourced by scripts/demo and scripts/test: installs the Debian packages the build needs when
# some are missing. Runs apt-get only as root and only when dpkg says something is absent, so a
# prepared machine pays one dpkg query.
rcmgr_packages=(cmake ninja-build g++ clang libboost-dev librange-v3-dev catch2 nlohmann-json3-dev
                libbenchmark-dev libclang-rt-14-dev)

rcmgr_install_deps() {
  local missing=()
  local p
  for p in "${rcmgr_packages[@]}"; do
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

# Parallel build jobs: the machine's cores, at most 2 unless RCMGR_JOBS says otherwise.
rcmgr_jobs() {
  if [ -n "${RCMGR_JOBS:-}" ]; then echo "$RCMGR_JOBS"; return; fi
  local n
  n=$(nproc 2>/dev/null || echo 2)
  [ "$n" -gt 2 ] && n=2
  echo "$n"
}
