#!/usr/bin/env bash
# The test fixture's cost before and after issues 9-13 (issue 11's benchmark): load + mkfs + mount + umount +
# unload, 64 MiB in-memory device, through the API both revisions share (fixture/FixtureLoop.java, compiled
# against each revision's stress jar), alternated (before, after, ...) so a drift of the machine hits both alike.
# Writes $FIGURES_DIR/sections/fixture-before-after.md and .rows.md (see README.md here).
#
# usage (standalone): FIGURES_DIR=target/figures STRESS_JAR=stress/target/jbtrfs-stress.jar scripts/figures.d/20-fixture-before-after.sh
# environment: BEFORE_REV (default b774e3d), ROUNDS (default 3; QUICK=1: 1), WARMUP/MEASURED fixtures per
# round (default 2000/3000; QUICK=1: 200/300)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
: "${FIGURES_DIR:?}" "${STRESS_JAR:?}"
rev=${BEFORE_REV:-b774e3d}
rounds=${ROUNDS:-3}
warmup=${WARMUP:-2000}
measured=${MEASURED:-3000}
if [ "${QUICK:-0}" = 1 ]; then rounds=1; warmup=200; measured=300; fi
mkdir -p "$FIGURES_DIR/before-after" "$FIGURES_DIR/sections"
raw=$(cd "$FIGURES_DIR/before-after" && pwd)
. scripts/figures.d/lib/common.sh
before=$(before_jar "$rev" "$raw") || exit 1
after=$STRESS_JAR

# compile the loop against each jar (the API it names is the same in both)
for side in before after; do
  jar=${!side}
  mkdir -p "$raw/fixture-$side"
  javac -d "$raw/fixture-$side" -cp "$jar" scripts/figures.d/fixture/FixtureLoop.java 2>"$raw/fixture-$side.javac.log" \
    || { echo "cannot compile FixtureLoop against $jar (see $raw/fixture-$side.javac.log)" >&2; exit 1; }
done

# one round: prints "median p99 n" (µs); the kernel log of the newer jar goes to the same stdout, so keep the last line
run() {
  local side=$1 r=$2 jar=${!1}
  java -cp "$jar:$raw/fixture-$side" FixtureLoop "$warmup" "$measured" >"$raw/fixture-$side.$r.txt" 2>&1
  grep -E '^[0-9.]+ [0-9.]+ [0-9]+$' "$raw/fixture-$side.$r.txt" | tail -1
}

bm=""; bp=""; am=""; ap=""
for r in $(seq 1 "$rounds"); do
  read -r m p _ < <(run before "$r"); bm+="$m "; bp+="$p "
  read -r m p _ < <(run after "$r"); am+="$m "; ap+="$p "
done

sec=$FIGURES_DIR/sections/fixture-before-after.md
rows=$FIGURES_DIR/sections/fixture-before-after.rows.md
{
  echo "## Test fixture before and after issues 9–13"
  echo
  echo "\`scripts/figures.d/20-fixture-before-after.sh\`: load + mkfs + mount + umount + unload with a 64 MiB in-memory"
  echo "device (\`scripts/figures.d/fixture/FixtureLoop.java\`, the same source compiled against each jar), the jar of"
  echo "\`$rev\` (main when issues 9–13 were filed) and this checkout's, alternated $rounds time(s): $warmup fixtures of"
  echo "warm-up, then $measured timed one by one. Medians of the rounds' medians and p99s, in µs."
  echo
  echo "| revision | median per round (µs) | p99 per round (µs) | median | p99 |"
  echo "|---|---|---|---|---|"
  echo "| $rev | $bm | $bp | $(echo "$bm" | median) | $(echo "$bp" | median) |"
  echo "| this checkout | $am | $ap | $(echo "$am" | median) | $(echo "$ap" | median) |"
  echo
  echo "Unlike \`FixtureBenchmark\` (JMH, sampled) this loop times every fixture with \`System.nanoTime\`; its medians"
  echo "are the comparable figures, not the JMH ones."
} >"$sec"
echo "| test fixture (load + mkfs + mount + umount + unload, 64 MiB), before issues 9–13 → now (median µs, p99 µs; median of $rounds) | $(echo "$bm" | median) (p99 $(echo "$bp" | median)) → $(echo "$am" | median) (p99 $(echo "$ap" | median)) |" >"$rows"
