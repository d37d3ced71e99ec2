package org.jbtrfs.stress.workload;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FsState;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.FileHandle;
import org.jbtrfs.fs.OpenMode;
import org.jbtrfs.stress.Seeds;
import org.jbtrfs.stress.classify.Observation;
import org.jbtrfs.stress.schedule.Roles;

/**
 * The seeded stress cycle: mount (RW, sometimes RO), a random mix of what makes kthreads open
 * transactions — delayed iputs of unlinked files (the cleaner evicts them), subvolumes deleted (the
 * cleaner drops them; sometimes a file inside is held open; sometimes the orphan-item deletion fails),
 * quota rescans over a multi-leaf extent tree, data block groups filled and emptied (the cleaner
 * deletes them) — then, right before the RO remount, something that keeps a kthread busy across it,
 * the remount, sometimes RW and RO again, and a prompt umount (within the 30 s commit interval, so a
 * transaction opened after the remount's commit is never committed).
 *
 * <p>The workload never races the kernel itself: every choice is drawn from the cycle's "workload"
 * stream; the races come from the kthreads and the schedule perturbation. It waits for nothing the
 * kernel does not give an event for (a cleaner pass, a rescan's completion) and steps around no
 * behaviour of the kernel: a rescan resumed by an RO→RW remount is raced like any other.
 */
public final class FullWorkload {
    /** Extent items to aim for in "ext": a few extent-tree leaves (~300 items a leaf) for the rescan. */
    public static final long EXTENT_TARGET = 700;
    static final int MAX_FILES = 40;
    static final int MAX_SUBVOLUMES = 3;

    private final CycleEnv env;
    private final Observation obs;
    private final SplittableRandom r;
    private final FsModel model;
    private final List<FileHandle> held = new ArrayList<>();
    private Btrfs fs;

    public FullWorkload(CycleEnv env, Observation obs) {
        this.env = env;
        this.obs = obs;
        this.r = Seeds.stream(env.cycleSeed, "workload");
        this.model = env.model;
    }

    public Btrfs fs() { return fs; }

    /** Handles still open when the cycle ended early (the driver closes them before cleaning up). */
    public List<FileHandle> held() { return held; }

    public void run() {
        armFaults();
        boolean ro = env.epochCycle > 0 && r.nextDouble() < 0.25;
        fs = env.op(ro ? "mount -o ro" : "mount", () -> env.module.mount(env.device, ro ? "ro" : ""));
        model.refresh(fs);
        // the error paths from here on (--faults): the cycle's mount runs without them, as the lanes' does
        FaultPlan plan = FaultPlan.of(env.cycleSeed, env.faults);
        try {
            applyFaults(plan);
            model.injectedSinceMkfs.addAll(plan.errnos());
            obs.injected(model.injectedSinceMkfs);
            try {
                operations(ro);
            } catch (BtrfsException e) {
                if (!quietEnd(plan, e)) {
                    throw e;
                }
                // a failing disk's answer (or the read-only filesystem its abort left): a user's script stops here
                // and unmounts; what must hold still holds — the umount completes, nothing leaks or hangs
                obs.notes.add("an injected fault ended the cycle's operations: " + CycleEnv.outcome(e) + " in '" + e.getMessage() + "'");
                closeHeldAfterFault(plan);
            }
            env.lastUmount(fs, obs);
        } finally {
            applyFaults(FaultPlan.NONE); // the driver's cleanup and the next mkfs run without
        }
    }

    private void operations(boolean ro) {
        if (ro) {
            // An RO mount: look around, then usually umount at once (patch 2/5's prompt umount)
            if (r.nextDouble() < 0.5) {
                peek();
            }
            if (r.nextDouble() < 0.5) {
                remountRw();
                deadRootCheck();
                rwPhase(1 + r.nextInt(6));
                remountRo();
            }
        } else {
            deadRootCheck();
            rwPhase(2 + r.nextInt(7));
            remountRo();
            if (r.nextDouble() < 0.3) {
                remountRw();
                deadRootCheck();
                rwPhase(1 + r.nextInt(3));
                remountRo();
            }
        }
    }

    /**
     * An error the cycle's armed faults return, or what their abort leaves: EROFS from the filesystem it forced
     * read-only, EINVAL from a remount read-write after the error. Never with no fault armed (the default).
     */
    static boolean endedByInjectedFault(FaultPlan plan, BtrfsException e) {
        if (plan.probabilities().isEmpty()) {
            return false;
        }
        return plan.errnos().contains(e.errno()) || e.errno() == Errno.EROFS || e.errno() == Errno.EINVAL;
    }

    /**
     * A tree block read that found what the disk holds instead of the block an aborted transaction never wrote:
     * btrfs_cleanup_one_transaction's btrfs_destroy_marked_extents drops its dirty extent buffers (free_extent_buffer_stale),
     * so the next search reads the stale block from disk ("tree level mismatch", a bad checksum) — EUCLEAN or EIO,
     * as a failing disk gives (seed 45045, `--workload full --faults all --filesystems 4`: a create's inode lookup
     * after a commit's injected EIO aborted). Kernel or port: the kernel's, for an abort in the commit's critical
     * section before the write (where the port injects its EIO): cleanup_transaction → btrfs_cleanup_one_transaction →
     * btrfs_destroy_marked_extents frees each dirty buffer stale, and read_tree_block then reads the disk (v5.11
     * disk-io.c, transaction.c). A write that fails in btrfs_write_and_wait_transaction differs: 5.11 releases
     * dirty_pages before returning, so the buffers stay cached (upstream changed that for 6.1+ stable).
     */
    static boolean unwrittenBlockRead(BtrfsException e) {
        return e.errno() == Errno.EUCLEAN || e.errno() == Errno.EIO;
    }

    /** An error that ends the cycle's operations as a user's script stops at a failing disk's answer. */
    private boolean quietEnd(FaultPlan plan, BtrfsException e) {
        if (plan.probabilities().isEmpty()) {
            return false; // no fault armed: every error is the cycle's failure
        }
        return endedByInjectedFault(plan, e) || unwrittenBlockRead(e) && aborted();
    }

    /** The filesystem's transaction was aborted (an injected fault's commit or reservation failed in it). */
    private boolean aborted() {
        return fs.inspect().state().contains(FsState.TRANS_ABORTED);
    }

    /** Closes what the cycle held open; a close after the abort may answer an injected fault's error too. */
    private void closeHeldAfterFault(FaultPlan plan) {
        for (FileHandle h : held) {
            if (h.isClosed()) {
                continue; // a close from a worker whose failure came after its close
            }
            try {
                env.op("close", h::close);
            } catch (BtrfsException e) {
                if (!quietEnd(plan, e)) {
                    throw e;
                }
            }
        }
        held.clear();
    }

    /**
     * Arms {@code p} for this cycle's filesystem: module-wide with one filesystem, its device only with several (each
     * cycle of the others draws its own plan), as the lanes do.
     */
    private void applyFaults(FaultPlan p) {
        p.apply(env.module.faults(), Collections.singletonList(env.singleFilesystem ? null : env.device.name()));
    }

    /** Per-cycle fault arming (one filesystem only: faults are module-wide). */
    private void armFaults() {
        if (!env.singleFilesystem) {
            return;
        }
        boolean drawn = r.nextDouble() < 0.4;
        long faultSeed = drawn ? r.nextLong() : 0; // drawn whatever --faults says: the cycle's other choices stay
        if (drawn && env.faults.contains(Fault.DEL_ORPHAN_ITEM_ENOMEM)) {
            env.module.faults().armProbability(Fault.DEL_ORPHAN_ITEM_ENOMEM, 0.5, faultSeed);
        } else {
            env.module.faults().disarm(Fault.DEL_ORPHAN_ITEM_ENOMEM);
        }
    }

    /** remount RW, after the RO-leak oracle's look at the read-only filesystem ({@link RoLeakCheck}). */
    private void remountRw() {
        RoLeakCheck.check(() -> env.op("inspect", fs::inspect), obs, Roles.DRIVER);
        env.op("remount rw", () -> fs.remount("rw"));
    }

    private void remountRo() {
        closeHeld();
        raceSetup();
        try {
            env.op("remount ro", () -> fs.remount("ro"));
        } catch (org.jbtrfs.core.BtrfsException e) {
            if (e.errno() != org.jbtrfs.core.Errno.EBUSY) {
                throw e;
            }
            // the VFS refuses an RO remount while an unlinked inode is alive (its ordered extent still
            // finishing, its delayed iput queued or being run): let the cleaner run once, as the
            // transaction kthread's wake-up every commit interval would, and try again, as an admin would.
            // Refused again, it is the kernel's answer: the cycle goes on read-write (an outcome, not a failure)
            runCleanerPass();
            try {
                env.op("remount ro", () -> fs.remount("ro"));
            } catch (org.jbtrfs.core.BtrfsException again) {
                if (again.errno() != org.jbtrfs.core.Errno.EBUSY) {
                    throw again;
                }
                obs.notes.add("remount ro refused twice (EBUSY: an unlinked inode still in use): the cycle stays read-write");
            }
        }
    }

    // ---- the RW phase ------------------------------------------------------------------------------

    private void rwPhase(int steps) {
        for (int i = 0; i < steps; i++) {
            double u = r.nextDouble();
            if (u < 0.16) {
                createFiles();
            } else if (u < 0.26) {
                unlinkFiles();
            } else if (u < 0.40) {
                unlinkedDelayedIput();
            } else if (u < 0.50) {
                createSubvolume();
            } else if (u < 0.62) {
                deleteSubvolume();
            } else if (u < 0.70) {
                subvolumeSync();
            } else if (u < 0.80) {
                quota();
            } else if (u < 0.88) {
                populateExtents();
            } else if (u < 0.94) {
                fillAndEmptyBlockGroup();
            } else {
                env.op("sync", fs::sync);
            }
        }
    }

    /**
     * Right before the RO remount: give a kthread something that runs across it. Each is a window of
     * the seed: the cleaner evicting (3/5) or deleting a block group (3/5), the rescan worker (1/5), a
     * subvolume deleted just before (March 2021, when the next mount is RW).
     */
    private void raceSetup() {
        if (r.nextDouble() < 0.35 && model.quota) {
            rescan();
        }
        if (r.nextDouble() < 0.25 && !model.subvolumes.isEmpty()) {
            deleteOneSubvolume(false);
        }
        if (r.nextDouble() < 0.25) {
            fillAndEmptyBlockGroup();
        }
        if (r.nextDouble() < 0.5) {
            unlinkedDelayedIput();
        }
    }

    private void peek() {
        if (model.files.isEmpty()) {
            env.op("list", () -> fs.list(""));
            return;
        }
        String f = pick(model.files);
        FileHandle h = env.op("open", () -> fs.open(f, OpenMode.READ_ONLY));
        env.op("close", h::close);
    }

    private void createFiles() {
        int n = 1 + r.nextInt(3);
        for (int i = 0; i < n && model.files.size() < MAX_FILES; i++) {
            String f = model.newName("f");
            env.op("create", () -> fs.createFile(f));
            int writes = r.nextInt(3);
            for (int w = 0; w < writes; w++) {
                byte[] data = Payload.bytes(512 + r.nextInt(8192));
                env.op("write", () -> fs.writeFile(f, data));
            }
            // the data path: most data waits for the next sync, remount or umount; some is written now
            double u = r.nextDouble();
            if (writes > 0 && u < 0.2) {
                env.op("fsync", () -> {
                    try (FileHandle h = fs.open(f, OpenMode.READ_ONLY)) {
                        h.fsync();
                    }
                });
            } else if (writes > 0 && u < 0.4) {
                env.op("sync_file_range", () -> {
                    try (FileHandle h = fs.open(f, OpenMode.READ_ONLY)) {
                        h.syncFileRange();
                    }
                });
            }
            model.files.add(f);
        }
    }

    private void unlinkFiles() {
        int n = 1 + r.nextInt(2);
        for (int i = 0; i < n && !model.files.isEmpty(); i++) {
            String f = model.files.remove(r.nextInt(model.files.size()));
            env.op("unlink", () -> fs.unlink(f));
        }
    }

    /**
     * A file unlinked while open, written and closed with its writeback in flight: the ordered extent's
     * completion on an endio-write worker drops the last reference — a delayed iput, whose eviction (a
     * transaction) the cleaner runs — and the wake-up the cleaner gets for it.
     */
    private void unlinkedDelayedIput() {
        String f = model.newName("u");
        env.op("create", () -> fs.createFile(f));
        env.op("write", () -> fs.writeFile(f, Payload.bytes(1 + r.nextInt(4096))));
        FileHandle h = env.op("open", () -> fs.open(f));
        held.add(h); // closed by the cycle's end if the unlink or the last write fails (an injected fault)
        env.op("unlink", () -> fs.unlink(f));
        env.op("close from worker", h::closeFromWorker);
        held.remove(h);
    }

    private void createSubvolume() {
        if (model.subvolumes.size() >= MAX_SUBVOLUMES) {
            return;
        }
        String s = model.newName("sv");
        env.op("subvolume create", () -> fs.createSubvolume(s));
        env.op("create", () -> fs.createFile(s + "/x"));
        env.op("write", () -> fs.writeFile(s + "/x", Payload.bytes(1 + r.nextInt(8192))));
        model.subvolumes.add(s);
    }

    private void deleteSubvolume() {
        if (!model.subvolumes.isEmpty()) {
            deleteOneSubvolume(r.nextDouble() < 0.3);
        } else {
            createSubvolume();
        }
    }

    /**
     * btrfs subvolume delete. Holding a file of it open delays the drop until that file is closed
     * (the last inode of the root goes), which the workload does before the next remount.
     */
    private void deleteOneSubvolume(boolean holdFile) {
        int n = model.subvolumes.size();
        String s = model.subvolumes.remove(r.nextInt(n));
        // an injected fault may have ended an earlier cycle between the subvolume's create and its file's
        if (holdFile && (model.injectedSinceMkfs.isEmpty() || fs.list(s).contains("x"))) {
            held.add(env.op("open", () -> fs.open(s + "/x", OpenMode.READ_ONLY)));
        }
        env.op("subvolume delete", () -> fs.deleteSubvolume(s));
    }

    /** btrfs subvolume sync, the cleaner woken by the workload ({@link SubvolumeSync#drive}). */
    private void subvolumeSync() {
        closeHeld();
        env.op("subvolume sync", () -> SubvolumeSync.drive(fs));
    }

    private void quota() {
        if (!model.quota) {
            env.op("quota enable", fs::quotaEnable);
            model.quota = true;
        } else if (r.nextDouble() < 0.3) {
            env.op("quota rescan wait", fs::quotaRescanWait);
        } else {
            rescan();
        }
    }

    private void rescan() {
        try {
            env.op("quota rescan", fs::quotaRescan);
        } catch (BtrfsException e) {
            if (e.errno() != Errno.EINPROGRESS) {
                throw e;
            }
        }
    }

    /**
     * Many one-byte appends to "ext", each written back at once (sync_file_range): one ordered extent and
     * one data extent item each, until the extent tree spans leaves.
     */
    private void populateExtents() {
        if (model.extents >= EXTENT_TARGET) {
            return;
        }
        if (model.extents == 0 && !fs.list("").contains("ext")) {
            env.op("create", () -> fs.createFile("ext"));
        }
        int n = 100 + r.nextInt(150);
        byte[] one = new byte[1];
        env.op("populate extents", () -> {
            try (FileHandle h = fs.open("ext")) {
                for (int i = 0; i < n; i++) {
                    h.write(one);
                    h.syncFileRange();
                }
            }
        });
        model.extents += n;
    }

    /**
     * Fill the data space past one chunk with 1 MiB files so a second data block group is allocated,
     * unlink them and commit: that group is now unused, and the next cleaner pass (woken by a delayed
     * iput) deletes it in a transaction of its own — outside cleaner_mutex, patch 3/5's third window.
     */
    private void fillAndEmptyBlockGroup() {
        if (!env.fillBlockGroups) {
            return;
        }
        int n = (int) (org.jbtrfs.transaction.Mkfs.dataChunkSize(env.device.size()) >> 20) + 1;
        List<String> bigs = new ArrayList<>();
        byte[] mib = new byte[1 << 20];
        env.op("fill block group", () -> {
            for (int i = 0; i < n; i++) {
                String b = model.newName("big");
                fs.createFile(b);
                fs.writeFile(b, Payload.stamp(mib));
                bigs.add(b);
            }
        });
        env.op("sync", fs::sync);
        env.op("empty block group", () -> bigs.forEach(fs::unlink));
        env.op("sync", fs::sync);
    }

    /** The March 2021 check (see {@link DeadRootCheck}). */
    private void deadRootCheck() { DeadRootCheck.check(env, fs, obs); }

    /** One whole cleaner pass: wait until it sleeps, wake it, wait for that pass to end (event-driven). */
    private void runCleanerPass() {
        env.op("cleaner pass", () -> fs.runCleanerPass(java.time.Duration.ofSeconds(5)));
    }

    private void closeHeld() {
        for (FileHandle h : held) {
            env.op("close", h::close);
        }
        held.clear();
    }

    private String pick(List<String> l) { return l.get(r.nextInt(l.size())); }
}
