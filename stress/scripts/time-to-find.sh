#!/usr/bin/env bash
# Time to find and attribute each reverted fix, for several seeds (not yet part of scripts/figures.sh).
# usage: stress/scripts/time-to-find.sh [SECONDS] [SEEDS...]   (from the repository root, after
#        mvn -B -o -q -pl stress -am package -DskipTests)
set -u
jar=${JAR:-stress/target/jbtrfs-stress.jar}
limit=${1:-20}; shift || true
seeds=${*:-1 2 3 4 5}
# each row: what to revert, the switch the failure must be attributed to
cases="qgroup-rescan-ro-remount:qgroup-rescan-ro-remount
orphan-roots-ro-mount:orphan-roots-ro-mount
cleaner-ro-remount-race:cleaner-ro-remount-race
trans-list-assert,qgroup-rescan-ro-remount:qgroup-rescan-ro-remount
delayed-iputs-ro-remount:delayed-iputs-ro-remount
dead-roots-before-orphan-cleanup:dead-roots-before-orphan-cleanup"
tmp=${KEEP:-$(mktemp -d)}   # KEEP=dir keeps every run's output and JSON
mkdir -p "$tmp"
printf '%-45s %-6s %-10s %-8s %s\n' reverted seed found_s cycles symptoms
for c in $cases; do
  revert=${c%%:*}; want=${c##*:}
  for s in $seeds; do
    json=$tmp/$revert.$s.json
    java -jar "$jar" --duration "$limit" --seed "$s" --revert "$revert" --json "$json" > "$tmp/$revert.$s.out" 2>&1
    found=$(python3 -c "import json,sys; d=json.load(open('$json')); f=d['first'].get('$want'); print('%.2f' % f['secondsIntoRun'] if f else 'not-found')")
    cyc=$(python3 -c "import json; print(json.load(open('$json'))['cycles'])")
    sym=$(python3 -c "import json; d=json.load(open('$json'))['symptoms']; print(','.join(k+'='+str(v) for k,v in d.items() if v))")
    printf '%-45s %-6s %-10s %-8s %s\n' "$revert" "$s" "$found" "$cyc" "$sym"
  done
done
[ -n "${KEEP:-}" ] || rm -rf "$tmp"
