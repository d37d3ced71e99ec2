#!/usr/bin/env bash
# Time to find and attribute each reverted fix, for several seeds and both crc32c modes
# Each run stops at the first failing cycle attributed to the fix.
# usage: stress/scripts/time-to-find.sh [SECONDS] [SEEDS...]   (from the repository root, after
#        mvn -B -o -q -pl stress -am package -DskipTests)
# env: WORKLOAD=lanes|full (default lanes), CRC="generic accelerated", KEEP=dir keeps outputs and JSON,
#      CASES="revert:attributed ..." to run only some rows, ARGS="--filesystems 3 ..." extra flags for every run,
#      JAVA_OPTS flags for the JVM (unset: the short-run flags "-XX:+UseSerialGC -XX:TieredStopAtLevel=1", which
#      find most rows sooner on 2 cores — README, "JVM flags"; JAVA_OPTS= for the JVM's defaults, as before stop 23),
#      JAVA the launcher, AOT an ahead-of-time cache of the jar (JDK 25: stress/scripts/aot-cache.sh; jvm.sh)
# the error-path switches are reachable only with --faults: ARGS="--faults all"
#      CASES="remount-rw-failure-commit:remount-rw-failure-commit qgroup-status-rescan-without-on:qgroup-status-rescan-without-on"
#      (and workers-flush-at-umount:workers-flush-at-umount, stop 34: an abort's umount with compressed writeback in flight;
#      data-reclaim-aborted-loop:data-reclaim-aborted-loop, stop 56: an abort while a write waits on a data ticket;
#      delayed-refs-refill-race:delayed-refs-refill-race, stop 57: an abort while an fsync's refill waits on a ticket;
#      reclaim-iputs-at-umount:reclaim-iputs-at-umount, stop 62: an abort's umount while a reclaim work flushes delalloc;
#      delayed-workers-at-error-umount:delayed-workers-at-error-umount, stop 64: an abort's umount while a delayed-meta work holds a handle;
#      dev-replace-scratch-before-commit:dev-replace-scratch-before-commit, stop 65: an abort or a power cut while a replace ends;
#      subvol-create-extent-leak:subvol-create-extent-leak, abort-unused-trans-handle:abort-unused-trans-handle and
#      error-during-close-ctree:error-during-close-ctree, stop 69: a tree block allocation failing -ENOSPC;
#      dev-replace-target-write-errors:dev-replace-target-write-errors, stop 71: a write bio failing -EIO during a replace;
#      thaw-forced-readonly:thaw-forced-readonly, stop 71: an abort while frozen;
#      dev-replace-swap-before-supers:dev-replace-swap-before-supers, stop 72: a failed commit or a power cut after a
#      replace's swap;
#      dev-replace-source-write-errors:dev-replace-source-write-errors, stop 73: a write bio failing -EIO on a replace's
#      source, then the replace cancelled or failed;
#      dev-replace-extra-mirror:dev-replace-extra-mirror and dev-replace-unrepaired-metadata:dev-replace-unrepaired-metadata,
#      stop 73: a read bio failing -EIO during a replace, bio-read-eio)
set -u
jar=${JAR:-stress/target/jbtrfs-stress.jar}
limit=${1:-20}; shift || true
seeds=${*:-1 2 3 4 5}
workload=${WORKLOAD:-lanes}
. "$(dirname "$0")/jvm.sh" # java_bin, java_opts: JAVA, JAVA_OPTS, AOT
crcs=${CRC:-generic accelerated}
# each row: what to revert (from every fix applied), the switch the failure must be attributed to
cases=${CASES:-"qgroup-rescan-ro-remount:qgroup-rescan-ro-remount
orphan-roots-ro-mount:orphan-roots-ro-mount
cleaner-ro-remount-race:cleaner-ro-remount-race
trans-list-assert,qgroup-rescan-ro-remount:qgroup-rescan-ro-remount
delayed-iputs-ro-remount:delayed-iputs-ro-remount
dead-roots-before-orphan-cleanup:dead-roots-before-orphan-cleanup
cleaner-lost-park-wakeup:cleaner-lost-park-wakeup
trans-kthread-lost-stop-wakeup:trans-kthread-lost-stop-wakeup
qgroup-rescan-resume-rearm:qgroup-rescan-resume-rearm
orphan-roots-inodes-in-memory:orphan-roots-inodes-in-memory
quota-rescan-disable-null-deref:quota-rescan-disable-null-deref
qgroup-rescan-requeue-waited:qgroup-rescan-requeue-waited
quota-enable-rescan-einprogress:quota-enable-rescan-einprogress
fsync-ro-remount-race:fsync-ro-remount-race
delayed-workers-ro-remount:delayed-workers-ro-remount
delalloc-flush-at-umount:delalloc-flush-at-umount
uuid-rescan-generation-check:uuid-rescan-generation-check
discard-worker-infinite-loop:discard-worker-infinite-loop
discard-resume-ro-to-rw:discard-resume-ro-to-rw
quota-enable-qgroup-ioctl-deadlock:quota-enable-qgroup-ioctl-deadlock
quota-disable-qgroup-ioctl-deadlock:quota-disable-qgroup-ioctl-deadlock
scrub-ro-mount-transaction:scrub-ro-mount-transaction
async-commit-transaction-kthread:async-commit-transaction-kthread
commit-trans-lost-wakeup:commit-trans-lost-wakeup
async-reclaim-requeued-after-cancel:async-reclaim-requeued-after-cancel
async-reclaim-cancel-strands-tickets:async-reclaim-cancel-strands-tickets
reclaim-delayed-iputs-cleaner-deadlock:reclaim-delayed-iputs-cleaner-deadlock
reclaim-writeback-at-umount:reclaim-writeback-at-umount
balance-resume-pause-race:balance-resume-pause-race
dev-replace-resume-suspend-race:dev-replace-resume-suspend-race
dev-replace-start-write-access:dev-replace-start-write-access
dev-replace-resume-before-exclop:dev-replace-resume-before-exclop
dev-replace-cursor-past-cancelled-chunk:dev-replace-cursor-past-cancelled-chunk
dev-replace-kthread-enospc-warn:dev-replace-kthread-enospc-warn
resize-thread-pool-scrub-race:resize-thread-pool-scrub-race
flushoncommit-writeback-warn:flushoncommit-writeback-warn
add-inode-defrag-closing-race:add-inode-defrag-closing-race"}
tmp=${KEEP:-$(mktemp -d)}
mkdir -p "$tmp"
echo "# $(date -u +%FT%TZ) $(uptime | sed 's/.*load/load/') workload=$workload limit=${limit}s ${ARGS:-} $java_bin $java_opts"
printf '%-45s %-12s %-5s %-10s %-8s %s\n' reverted crc32c seed found_s cycles classes
for crc in $crcs; do
for c in $cases; do
  revert=${c%%:*}; want=${c##*:}
  for s in $seeds; do
    base=$tmp/$revert.$crc.$s
    "$java_bin" $java_opts -jar "$jar" --workload "$workload" --crc32c "$crc" --duration "$limit" --seed "$s" --revert "$revert" \
      --stop-when-found "$want" ${ARGS:-} --json "$base.json" > "$base.out" 2>&1
    read -r found cyc cls < <(python3 - "$base.json" "$want" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); f = d['first'].get(sys.argv[2])
cls = ','.join('%s=%d' % (c['kind'], c['count']) for c in d.get('classes', []))
print('%.2f' % f['secondsIntoRun'] if f else 'not-found', d['cycles'], cls or '-')
PY
)
    printf '%-45s %-12s %-5s %-10s %-8s %s\n' "$revert" "$crc" "$s" "$found" "$cyc" "$cls"
  done
done
done
[ -n "${KEEP:-}" ] || rm -rf "$tmp"
