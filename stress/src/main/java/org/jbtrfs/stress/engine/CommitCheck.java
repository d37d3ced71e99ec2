package org.jbtrfs.stress.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.FlakeyBlockDevice;
import org.jbtrfs.core.IoCounters;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.disk.DevReplaceItem;
import org.jbtrfs.fs.tools.Check;
import org.jbtrfs.transaction.CommitProbe;
import org.jbtrfs.transaction.DevReplaceControl.State;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.Trees;

/**
 * {@code -Djbtrfs.stress.checkEveryCommit=true}: btrfs check of the committed image inside every commit, right
 * after its superblock is written (a port-debugging probe, {@link CommitProbe}). The runner's own check runs only
 * after a cycle's last umount, when a later commit may have rewritten a stale pointer; this one names the commit that
 * wrote the damage. Errors are logged as a kernel WARNING at {@code port-debug/check-after-commit} with the
 * committing thread's stack, so the cycle fails with a {@code warn} class and its timeline. Slow: for hunting one
 * class, not for measuring.
 */
final class CommitCheck {
    static final boolean ON = Boolean.getBoolean("jbtrfs.stress.checkEveryCommit");

    private CommitCheck() { }

    /** Installs the probe for this JVM's filesystems when the property asks for it. */
    static void installIfAsked() {
        if (ON) {
            CommitProbe.install(CommitCheck::probe);
        }
    }

    private static void probe(FsInfo fs, long transid) {
        if (writesDropped(fs.device.source()) || writesDropped(fs.device.target())) {
            // a power cut (dm-flakey drop_writes, stop 35): nothing this commit wrote reached a disk, which keeps the
            // image of the cut — and a replace's swap inside the cut points the reads at the spare disk, which never
            // got the filesystem's writes either. The runner's own check reads the disks after the cycle's umount.
            return;
        }
        checkResumePoint(fs, transid);
        String errors = errors(Check.check(fs.device.probeView())); // not the kernel's reads: no injected read error
        if (errors.isEmpty()) {
            return;
        }
        // what was still in flight when the superblock went out, and whether the damage outlives it: a second check
        // once every tree block write has ended (port debugging only — the commit itself never waits here)
        String inFlight = fs.btreeInode.writebackState();
        String dirtyNow = fs.btreeInode.dirtyState();
        fs.btreeInode.waitWriteback();
        String again = errors(Check.check(fs.device.probeView()));
        String report = "(device " + fs.sbId() + ") transaction " + transid
            + ": " + errors
            + "\n  in flight at the check: " + inFlight
            + "\n  " + dirtyNow
            + "\n  roots in memory: " + roots(fs)
            + "\n  after every tree block write ended: " + (again.isEmpty() ? "clean" : again);
        warn(fs, "port-debug/check-after-commit", 1, report);
    }

    /** The probe's WARN at {@code site}, and the report whole on stderr with the committer's stack (a cycle report
     * shows a log entry's first lines only). */
    private static void warn(FsInfo fs, String site, int line, String report) {
        fs.log().warnOnAt(true, site, line, report);
        System.err.println("jbtrfs commit probe: " + report + "\n  committer:\n" + KernelLog.callTrace(new Throwable(), 0));
    }

    /**
     * What a replace resumed from this commit's item would build on (stop 75: classes {@code efef94d3} and
     * {@code 2eb31eac}, a resumed replace finished onto a device missing a block below its cursor): a copy resumed from
     * the cursor the item records (committed_cursor_left) takes the target's bytes below it as copied, so the committed
     * image must read the same through the target there — btrfs_scrub_dev copied each chunk below it from a commit root,
     * handle_ops_on_dev_replace duplicated every write since. Checked as a mount after the resume's end would read it:
     * the target below the cursor, the source above (and for the superblock). Not while the target has missed writes
     * the proposed DEV_REPLACE_TARGET_WRITE_ERRORS counts (such a replace ends CANCELED).
     */
    private static void checkResumePoint(FsInfo fs, long transid) {
        BlockDevice source = fs.device.source();
        BlockDevice target = fs.device.target();
        if (target == null) {
            checkTargetMapped(fs, transid);
            return;
        }
        long cursor = fs.devReplace.cursorLeftLastWriteOfItem;
        if (cursor <= FIRST_CHUNK || fs.devReplace.numWriteErrors.get() != 0) {
            return;
        }
        String errors = errors(Check.check(new ResumedView(source, target, cursor)));
        if (errors.isEmpty()) {
            return;
        }
        String report = "(device " + fs.sbId() + ") transaction " + transid + ": the replace target " + target.name()
            + " below the item's cursor " + cursor + " does not hold the committed image: " + errors;
        warn(fs, "port-debug/replace-resume-point", 1, report);
    }

    /**
     * The other half of the resume point: a commit whose replace item names a replace STARTED or SUSPENDED past the
     * first chunk, while no target is mapped — this commit's writes went to the source alone, and a mount that finds the
     * target resumes from the cursor over a device without them (the port has no degraded mount, where 5.11 allows a
     * missing target).
     */
    private static void checkTargetMapped(FsInfo fs, long transid) {
        byte[] raw;
        try {
            raw = Trees.lookup(fs, fs.devRoot(), DevReplaceItem.KEY);
        } catch (RuntimeException e) {
            return; // the dev tree unreadable: the image check reports it
        }
        DevReplaceItem item = raw == null ? null : DevReplaceItem.decode(raw);
        if (item == null || item.cursorLeft() <= FIRST_CHUNK) {
            return;
        }
        State state = State.of(item.replaceState());
        if (state != State.STARTED && state != State.SUSPENDED) {
            return;
        }
        // read after the target: a finishing (or cancel) that unmapped it set FINISHED (CANCELED) first. This commit's
        // item was written before that and its superblocks went to both disks (the probe runs once tree_log_mutex is
        // released, which the proposed DEV_REPLACE_SWAP_BEFORE_SUPERS makes the swap wait for); the next commit writes
        // the new state
        State inMemory;
        fs.devReplace.rwsem.readLock().lock(); // as btrfs_run_dev_replace reads it inside the commit
        try {
            inMemory = fs.devReplace.replaceState;
        } finally {
            fs.devReplace.rwsem.readLock().unlock();
        }
        if (inMemory == State.FINISHED || inMemory == State.CANCELED) {
            return;
        }
        String report = "(device " + fs.sbId() + ") transaction " + transid + ": the replace item says " + state + " at "
            + item.cursorLeft() + " but no target is mapped: this commit's writes reached the source only (in memory "
            + inMemory + ")";
        warn(fs, "port-debug/replace-resume-point", 2, report);
    }

    /** Where the first chunk starts (below it: the superblock, which the target has its own of). */
    private static final long FIRST_CHUNK = 1L << 20;

    /** The source with the target's bytes below the cursor (and above the superblock's region): read-only. */
    private record ResumedView(BlockDevice source, BlockDevice target, long cursor) implements BlockDevice {
        @Override public String name() { return target.name() + " below " + cursor + ", " + source.name() + " above"; }
        @Override public long size() { return source.size(); }
        @Override public void read(long offset, byte[] dst, int dstOff, int len) {
            long end = offset + len;
            long t0 = Math.max(offset, FIRST_CHUNK);
            long t1 = Math.min(end, cursor);
            if (t0 >= t1) {
                source.read(offset, dst, dstOff, len);
                return;
            }
            if (offset < t0) {
                source.read(offset, dst, dstOff, (int) (t0 - offset));
            }
            target.read(t0, dst, dstOff + (int) (t0 - offset), (int) (t1 - t0));
            if (t1 < end) {
                source.read(t1, dst, dstOff + (int) (t1 - offset), (int) (end - t1));
            }
        }
        @Override public void write(long offset, byte[] src, int srcOff, int len) {
            throw new UnsupportedOperationException("the probe's view is read-only");
        }
        @Override public void flush() { }
        @Override public IoCounters counters() { return source.counters(); }
    }

    private static boolean writesDropped(BlockDevice d) {
        return d instanceof FlakeyBlockDevice f && f.mode() != FlakeyBlockDevice.Mode.PASS;
    }

    /** Each root the commit knows (and its root item's view): where a stale root item would show. */
    private static String roots(FsInfo fs) {
        StringBuilder sb = new StringBuilder();
        List<Root> all = new ArrayList<>(Arrays.asList(fs.treeRoot(), fs.extentRoot(), fs.quotaRoot(), fs.freeSpaceRoot(),
            fs.uuidRoot()));
        all.addAll(fs.fsRootsRadix.values());
        for (Root r : all) {
            if (r == null) {
                continue;
            }
            var item = r.rootItem();
            sb.append(r.objectid()).append(":node ").append(r.node().bytenr()).append("/gen ").append(r.node().generation())
                .append(item == null ? "" : " item " + item.bytenr() + " refs " + item.refs() + " progress " + item.dropProgress())
                .append(' ').append(r.state).append("; ");
        }
        return sb.toString();
    }

    private static String errors(Check.Report rep) {
        return rep.problems().stream().filter(p -> p.severity() == Check.Severity.ERROR)
            .map(p -> p.kind() + ": " + p.message()).collect(Collectors.joining("; "));
    }
}
