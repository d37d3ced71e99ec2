#!/usr/bin/env bash
# Cycles per second of the stress runner before and after the mechanisms and the explorer (issues 9-13):
# the jar of BEFORE_REV (default b774e3d, main when those issues were filed) against this checkout's, in
# alternation (before, after, before, after, ...) so that a drift of the machine's speed hits both alike.
# Writes $FIGURES_DIR/sections/before-after.md and .rows.md (see README.md here).
#
# usage (standalone): FIGURES_DIR=target/figures STRESS_JAR=stress/target/jbtrfs-stress.jar scripts/figures.d/10-before-after.sh
# environment: BEFORE_REV (a git revision), ROUNDS (default 3; QUICK=1: 1), SECONDS_EACH (default 10; QUICK=1: 2)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
: "${FIGURES_DIR:?}" "${STRESS_JAR:?}"
rev=${BEFORE_REV:-b774e3d}
rounds=${ROUNDS:-3}
secs=${SECONDS_EACH:-10}
if [ "${QUICK:-0}" = 1 ]; then rounds=1; secs=2; fi
mkdir -p "$FIGURES_DIR/before-after" "$FIGURES_DIR/sections"
# absolute: the build of the old revision runs in its own worktree
raw=$(cd "$FIGURES_DIR/before-after" && pwd)

. scripts/figures.d/lib/common.sh
before_jar=$(before_jar "$rev" "$raw") || exit 1

# one measurement: prints cycles/s from the runner's first line
rate() {
  local jar=$1 workload=$2 crc=$3 out=$4
  java -jar "$jar" --workload "$workload" --crc32c "$crc" --duration "$secs" --seed 1 >"$out" 2>&1
  sed -n '1s/.*(\([0-9.]*\) cycles\/s).*/\1/p' "$out"
}

cases="minimal:accelerated minimal:generic full:generic"
declare -A before after
for c in $cases; do before[$c]=""; after[$c]=""; done
for r in $(seq 1 "$rounds"); do
  for c in $cases; do
    w=${c%%:*}; crc=${c##*:}
    before[$c]+="$(rate "$before_jar" "$w" "$crc" "$raw/before.$w.$crc.$r.txt") "
    after[$c]+="$(rate "$STRESS_JAR" "$w" "$crc" "$raw/after.$w.$crc.$r.txt") "
  done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a+0 > 0) printf "%.2f", b/a; else print "n/a" }'; }

sec=$FIGURES_DIR/sections/before-after.md
rows=$FIGURES_DIR/sections/before-after.rows.md
{
  echo "## Cycles per second before and after issues 9–13"
  echo
  echo "\`scripts/figures.d/10-before-after.sh\`: the stress runner of \`$rev\` (main when issues 9–13 were filed) and of"
  echo "this checkout, alternated $rounds time(s), $secs s each, seed 1, every fix applied (each jar's default). The"
  echo "mechanisms added since cost time on purpose (sync_filesystem and data writeback through the worker"
  echo "queues, ordered extents, v1 space-cache inodes, the 5.11 qgroup locks, kernel wake-up semantics);"
  echo "\`full\` also does more per cycle now (data written and synced, the lanes' operations are not in it)."
  echo
  echo "| workload | crc32c | before (cycles/s, runs) | after (cycles/s, runs) | median after/before |"
  echo "|---|---|---|---|---|"
  for c in $cases; do
    w=${c%%:*}; crc=${c##*:}
    b=$(echo "${before[$c]}" | median); a=$(echo "${after[$c]}" | median)
    echo "| $w | $crc | $b (${before[$c]% }) | $a (${after[$c]% }) | $(ratio "$b" "$a") |"
  done
} >"$sec"
{
  for c in $cases; do
    w=${c%%:*}; crc=${c##*:}
    b=$(echo "${before[$c]}" | median); a=$(echo "${after[$c]}" | median)
    echo "| \`--workload $w\`, $crc crc32c, before issues 9–13 → now (cycles/s, median of $rounds) | $b → $a |"
  done
} >"$rows"
