#!/usr/bin/env bash
# Compile-cost gate: compiles a reference translation unit (reference.cpp: standard-library code
# only) and the translation units that use the libp2p manager, interleaved, RCMGR_COMPILE_RUNS
# times each (default 3), and compares the best CPU time (user + sys) of each to the reference's.
# Fails when a ratio exceeds its recorded value (baseline.txt, per compiler) by more than 25%.
# Ratios measured in the same run do not depend on how busy the machine is; absolute times do.
#
# usage: ratio.sh <c++ compiler> <source root>
# exit: 0 pass, 1 regression, 77 no baseline recorded for this compiler (skipped)
set -euo pipefail
cxx=$1
root=$2
runs=${RCMGR_COMPILE_RUNS:-3}
here=$root/tests/compile_cost
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

id="$(basename "$cxx")-$("$cxx" -dumpversion)"
case $("$cxx" --version | head -n1) in *clang*) family=clang++ ;; *) family=g++ ;; esac
key="$family-$("$cxx" -dumpversion | cut -d. -f1)"

cpu_of() {  # cpu_of <extra flags...> -- <source>: CPU seconds of one compile
  local flags=() src
  while [[ $1 != -- ]]; do flags+=("$1"); shift; done
  src=$2
  /usr/bin/time -f '%U %S' -o "$work/t" "$cxx" -std=c++20 -O2 -DNDEBUG -I"$root/include" "${flags[@]}" \
    -c "$src" -o "$work/o.o"
  awk '{ printf "%.3f", $1 + $2 }' "$work/t"
}

declare -A best
names=(reference manager manager_extern)
for ((i = 0; i < runs; ++i)); do
  for n in "${names[@]}"; do
    case $n in
      reference) t=$(cpu_of -- "$here/reference.cpp") ;;
      manager) t=$(cpu_of -- "$root/bench/compile_cost_one.cpp") ;;
      manager_extern) t=$(cpu_of -DRCMGR_LIBP2P_EXTERN_INSTANCE -- "$root/bench/compile_cost_one.cpp") ;;
    esac
    if [[ -z ${best[$n]:-} ]] || awk -v a="$t" -v b="${best[$n]}" 'BEGIN { exit !(a < b) }'; then best[$n]=$t; fi
  done
done

echo "compiler: $id (baseline key $key); load average $(cut -d' ' -f1-3 /proc/loadavg); best of $runs"
status=0
for n in manager manager_extern; do
  ratio=$(awk -v a="${best[$n]}" -v b="${best[reference]}" 'BEGIN { printf "%.3f", a / b }')
  base=$(awk -v k="$key" -v n="$n" '$1 == k && $2 == n { print $3 }' "$here/baseline.txt")
  printf '%-15s %6.2f s  reference %6.2f s  ratio %s' "$n" "${best[$n]}" "${best[reference]}" "$ratio"
  if [[ -z $base ]]; then
    echo "  (no baseline for $key)"
    status=77
    continue
  fi
  limit=$(awk -v b="$base" 'BEGIN { printf "%.3f", b * 1.25 }')
  if awk -v r="$ratio" -v l="$limit" 'BEGIN { exit !(r > l) }'; then
    echo "  REGRESSION: above $limit (baseline $base + 25%)"
    status=1
  else
    echo "  ok (baseline $base, limit $limit)"
  fi
done
exit $status
