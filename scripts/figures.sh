#!/usr/bin/env bash
# Regenerates every measured figure of the project from one run on this machine:
#   docs/benchmarks.md       the benchmarks, their settings and prose, the stress runner's rates, the timing suite
#   docs/figures-table.md    the README's "Measured figures" table (and README.md's block between
#                            <!-- figures:begin ... --> and <!-- figures:end -->, when README has those markers)
# Nothing in those files is typed by hand: org.jbtrfs.bench.figures.Figures writes them from this run's outputs,
# kept in target/figures/ (run.txt, jmh.json, stress/*.json, timing/TEST-*.xml, sections/).
#
# usage: scripts/figures.sh [--quick]      (from anywhere; re-runnable: each run starts from an empty target/figures)
#   --quick   short settings, for checking the pipeline: writes target/figures/*.md only, never docs/ or README
# environment:
#   JMH_FILTER=REGEX   only the JMH benchmarks matching REGEX (the others then read "not measured in this run")
#   SKIP_TIMING=1      do not run the timing suite
#
# Settings of a full run (about 10 minutes on 2 cores; each is also written into run.txt and the generated header):
#   build    mvn -B -q package -DskipTests (the whole reactor, so the jars hold this checkout's code)
#   JMH      java -jar bench/target/jbtrfs-bench.jar -rf json: per benchmark as annotated in bench/ — 1 fork,
#            3 x 1 s warm-up, 5 x 1 s measured; the qgroup rescan 10 x 1 s warm-up; the first-fixture case
#            10 forks of one shot each
#   stress   --workload minimal, 10 s each, seed 1: generic and accelerated crc32c, 1 and 2 filesystems;
#            the same cycle profiled (-Djbtrfs.stress.profile=true) 5 s; --workload full, 30 s, seed 42,
#            -Djbtrfs.stress.sample=10
#   timing   mvn -B verify -Ptiming (the JUnit tests tagged "timing")
#   then every scripts/figures.d/*.sh (see scripts/figures.d/README.md)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
quick=0
case "${1:-}" in
  --quick) quick=1 ;;
  "") ;;
  *) echo "usage: scripts/figures.sh [--quick]" >&2; exit 2 ;;
esac

out=target/figures
rm -rf "$out"
mkdir -p "$out/stress" "$out/timing" "$out/sections"
run=$out/run.txt
: > "$run"
started=$SECONDS
failed=()

note() { printf '%s: %s\n' "$1" "$2" >> "$run"; }
load() { note "load $1" "$(uptime | sed 's/.*load average: *//') (1, 5, 15 min)"; }
phase() { echo "figures: $*" >&2; }

# --- the machine ---------------------------------------------------------------------------------
dirty=$(git status --porcelain -- . ':!docs/benchmarks.md' ':!docs/figures-table.md' 2>/dev/null | head -1)
note "date" "$(date -u '+%Y-%m-%d %H:%M UTC')"
note "commit" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)${dirty:+ (with uncommitted changes)}"
note "cpus" "$(nproc)"
note "cpu" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
note "memory" "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
note "jdk" "$(java -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.vm.name/ {n=$2} /java.runtime.version/ {v=$2} END {print n " " v}')"
note "kernel" "$(uname -sr)"
note "uptime at start" "$(uptime | sed 's/^ *//')"
load "at start"
[ $quick = 1 ] && note "mode" "--quick: short settings, not for publication"

# --- build ---------------------------------------------------------------------------------------
phase "building (mvn -B -q package -DskipTests)"
if ! mvn -B -q package -DskipTests > "$out/build.log" 2>&1; then
  echo "figures: the build failed, see $out/build.log" >&2
  exit 1
fi
bench_jar=bench/target/jbtrfs-bench.jar
stress_jar=stress/target/jbtrfs-stress.jar
load "after the build"

# --- JMH -----------------------------------------------------------------------------------------
if [ $quick = 1 ]; then
  jmh_args=(-f 1 -wi 1 -i 1 -w 200ms -r 200ms)
else
  jmh_args=()
fi
phase "JMH (about 6 minutes; log in $out/jmh.log)"
t0=$SECONDS
java -jar "$bench_jar" -rf json -rff "$out/jmh.json" "${jmh_args[@]}" ${JMH_FILTER:+"$JMH_FILTER"} > "$out/jmh.log" 2>&1 \
  || failed+=("JMH (see $out/jmh.log)")
# JMH goes on after a benchmark throws (its figures then read "not measured"): report it here
grep -q '<failure>' "$out/jmh.log" && failed+=("JMH: a benchmark failed (see <failure> in $out/jmh.log)")
note "JMH" "$(echo java -jar $bench_jar -rf json -rff jmh.json "${jmh_args[@]}" ${JMH_FILTER:-}); settings per benchmark as in each table; $((SECONDS - t0)) s"
load "after JMH"

# --- the stress runner's figure runs -------------------------------------------------------------
if [ $quick = 1 ]; then minimal_s=2; profile_s=2; full_s=3; else minimal_s=10; profile_s=5; full_s=30; fi
phase "stress runner figure runs"
t0=$SECONDS
for crc in generic accelerated; do
  for n in 1 2; do
    java -jar "$stress_jar" --workload minimal --duration $minimal_s --seed 1 --crc32c $crc --filesystems $n \
      --json "$out/stress/minimal-$crc-$n.json" > "$out/stress/minimal-$crc-$n.txt" 2>&1 \
      || failed+=("stress --workload minimal --crc32c $crc --filesystems $n (exit $?)")
  done
done
java -Djbtrfs.stress.profile=true -jar "$stress_jar" --workload minimal --duration $profile_s --seed 1 \
  > "$out/stress/minimal-profile.txt" 2>&1 || failed+=("stress profiled minimal run (exit $?)")
java -Djbtrfs.stress.sample=10 -jar "$stress_jar" --workload full --duration $full_s --seed 42 \
  --json "$out/stress/full-generic-1.json" > "$out/stress/full-generic-1.txt" 2>&1 \
  || failed+=("stress --workload full (exit $?)")
note "stress runs" "java -jar $stress_jar --workload minimal --duration $minimal_s --seed 1 --crc32c generic|accelerated --filesystems 1|2 --json ...; the same with -Djbtrfs.stress.profile=true, $profile_s s, generic, 1 filesystem; java -Djbtrfs.stress.sample=10 -jar $stress_jar --workload full --duration $full_s --seed 42 --json ...; $((SECONDS - t0)) s"
load "after the stress runs"

# --- the timing suite ----------------------------------------------------------------------------
if [ "${SKIP_TIMING:-0}" != 1 ]; then
  phase "timing suite (mvn -B verify -Ptiming)"
  t0=$SECONDS
  rm -rf ./*/target/surefire-reports
  mvn -B verify -Ptiming > "$out/timing/mvn.log" 2>&1
  rc=$?
  cp ./*/target/surefire-reports/TEST-*.xml "$out/timing/" 2>/dev/null
  [ $rc = 0 ] || failed+=("timing suite (exit $rc, see $out/timing/mvn.log)")
  note "timing suite" "mvn -B verify -Ptiming: exit $rc, $((SECONDS - t0)) s with the build"
  load "after the timing suite"
else
  note "timing suite" "skipped (SKIP_TIMING=1)"
fi

# --- drop-in sections (scripts/figures.d/*.sh) ---------------------------------------------------
for ext in scripts/figures.d/*.sh; do
  [ -e "$ext" ] || continue
  phase "section $ext"
  t0=$SECONDS
  FIGURES_DIR=$out STRESS_JAR=$stress_jar BENCH_JAR=$bench_jar QUICK=$quick bash "$ext" > "$out/sections/$(basename "$ext" .sh).log" 2>&1
  rc=$?
  [ $rc = 0 ] || failed+=("$ext (exit $rc)")
  note "section $(basename "$ext")" "exit $rc, $((SECONDS - t0)) s"
done

note "total" "$((SECONDS - started)) s"

# --- generate ------------------------------------------------------------------------------------
if [ $quick = 1 ]; then
  targets=("$out/benchmarks.md" "$out/figures-table.md")
else
  targets=(docs/benchmarks.md docs/figures-table.md README.md)
fi
java -cp "$bench_jar" org.jbtrfs.bench.figures.Figures "$out" "${targets[@]}" || exit 1

if [ ${#failed[@]} -gt 0 ]; then
  printf 'figures: generated, but these steps failed (their figures read "not measured" or show the failure):\n' >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
