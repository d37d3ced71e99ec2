#!/usr/bin/env bash
# How often a reverted fix is found: failing cycles attributed to it per 1,000 cycles, over one run per row of a
# fixed length (no stop at the first find) — steadier than time-to-find.sh's first find for the rare windows.
# usage: stress/scripts/find-rate.sh [SECONDS] [SEED] SWITCH...   (from the repository root, after
#        mvn -B -o -q -pl stress -am package -DskipTests)
# env: JAR (default stress/target/jbtrfs-stress.jar), ARGS extra flags for every run (default "--filesystems 4"),
#      JAVA_OPTS, JAVA, AOT: the JVM, as time-to-find.sh (stress/scripts/jvm.sh), KEEP=dir keeps outputs and JSON
# each row reverts SWITCH from every fix applied and counts the cycles whose class is attributed to it
set -u
jar=${JAR:-stress/target/jbtrfs-stress.jar}
secs=${1:-60}; shift || true
seed=${1:-7}; shift || true
. "$(dirname "$0")/jvm.sh" # java_bin, java_opts: JAVA, JAVA_OPTS, AOT
args=${ARGS---filesystems 4}
tmp=${KEEP:-$(mktemp -d)}
mkdir -p "$tmp"
echo "# $(date -u +%FT%TZ) $(uptime | sed 's/.*load/load/') ${secs}s seed $seed $args $java_bin $java_opts"
printf '%-40s %8s %10s %9s\n' reverted cycles attributed per-1000
for sw in "$@"; do
  base=$tmp/$sw
  "$java_bin" $java_opts -jar "$jar" --duration "$secs" --seed "$seed" --revert "$sw" $args --json "$base.json" > "$base.out" 2>&1
  python3 - "$base.json" "$sw" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); sw = sys.argv[2]
n = sum(c['count'] for c in d['classes'] if sw in c.get('attributedTo', []))
print('%-40s %8d %10d %9.2f' % (sw, d['cycles'], n, 1000.0 * n / max(1, d['cycles'])))
PY
done
[ -n "${KEEP:-}" ] || rm -rf "$tmp"
