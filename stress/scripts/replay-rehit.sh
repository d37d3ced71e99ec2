#!/usr/bin/env bash
# How often --replay re-hits the class of the first failing cycle found with each fix reverted.
# usage: stress/scripts/replay-rehit.sh [REPEAT] [SEED]   (after mvn -B -o -q -pl stress -am package -DskipTests)
# env: WORKLOAD=lanes|full (default lanes), CRC=generic|accelerated, LIMIT=seconds to search (default 20)
set -u
jar=${JAR:-stress/target/jbtrfs-stress.jar}
repeat=${1:-10}; seed=${2:-1}
workload=${WORKLOAD:-lanes}; crc=${CRC:-generic}; limit=${LIMIT:-20}
cases=${CASES:-"qgroup-rescan-ro-remount orphan-roots-ro-mount cleaner-ro-remount-race dead-roots-before-orphan-cleanup cleaner-lost-park-wakeup trans-kthread-lost-stop-wakeup qgroup-rescan-resume-rearm orphan-roots-inodes-in-memory quota-rescan-disable-null-deref qgroup-rescan-requeue-waited"}
tmp=$(mktemp -d)
echo "# $(date -u +%FT%TZ) $(uptime | sed 's/.*load/load/') workload=$workload crc32c=$crc seed=$seed repeat=$repeat"
for want in $cases; do
  java -jar "$jar" --workload "$workload" --crc32c "$crc" --duration "$limit" --seed "$seed" --revert "$want" \
    --stop-when-found "$want" --json "$tmp/$want.json" > /dev/null 2>&1
  read -r token cls sig < <(python3 - "$tmp/$want.json" "$want" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for c in d.get('classes', []):
    if sys.argv[2] in c['attributedTo']:
        tok, _, cid = c['firstReplay'].partition(' --class ')
        print(tok, cid, c['signature']); break
else:
    print('- - -')
PY
)
  if [ "$token" = "-" ]; then printf '%-34s not found in %ss\n' "$want" "$limit"; continue; fi
  line=$(java -jar "$jar" --workload "$workload" --crc32c "$crc" --revert "$want" --replay "$token" --repeat "$repeat" --class "$cls" 2>&1 | grep '^re-hit')
  printf '%-34s %-12s %s\n' "$want" "$token" "$line"
done
rm -rf "$tmp"
