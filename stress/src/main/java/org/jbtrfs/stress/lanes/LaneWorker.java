package org.jbtrfs.stress.lanes;

import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.KernelPanic;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.FileHandle;
import org.jbtrfs.fs.OpenMode;
import org.jbtrfs.stress.Seeds;
import org.jbtrfs.stress.schedule.ScheduleScope;
import org.jbtrfs.stress.schedule.Timeline;
import org.jbtrfs.stress.watch.Busy;

/**
 * One lane of a lanes cycle, on a real thread of its own: a seeded sequence of user operations that
 * races the other lanes the way users' processes do. Every choice comes from the lane's own stream
 * ("lane:file"), so a replay makes the same choices whatever the interleaving. An operation the kernel's
 * rules refuse (EBUSY, EROFS, EINVAL, ENOENT, EEXIST, EINPROGRESS, ENOSPC) is a normal outcome; anything
 * else — a corrupt block, a BUG, an oops, an unexpected exception — is a failure of the cycle and stops it.
 */
abstract class LaneWorker implements Runnable {
    /** Unwinds a lane whose cycle is over (the module broke or panicked). */
    static final class StopLane extends RuntimeException {
        StopLane() { super(null, null, false, false); }
    }

    final LaneKind kind;
    final LaneContext cx;
    final SplittableRandom r;
    final Busy busy;
    /** The cycle's mix of the lane's operations (swarm testing): which of its step chain's operations are in. */
    final OpMix mix;
    private String threadName;

    /**
     * A lane whose step is a chain of tests of one draw against {@code chain}'s ascending bounds (the last 1.0),
     * the operations the cycle's {@link OpMix} leaves some of out; no chain: every operation, always.
     */
    LaneWorker(LaneKind kind, LaneContext cx, double... chain) {
        this.kind = kind;
        this.cx = cx;
        this.r = Seeds.stream(cx.cycleSeed, "lane:" + kind.label);
        this.mix = chain.length == 0 ? OpMix.ALL : OpMix.of(kind.label, cx.cycleSeed, cx.swarm, chain);
        this.busy = new Busy(kind.label, cx.fsIndex);
        if (cx.severalFilesystems) {
            busy.device(cx.device.name()); // the main device: the filesystem's, also for the second device's lane
        }
        busy.stallSink(cx.obs::stall);
        busy.warmUpSink(cx.obs::warmUp);
        var scope = cx.scope;
        if (scope != null) {
            busy.kernelDelayClock(scope::kernelDelayNanos);
        }
        Timeline t = cx.timeline;
        busy.opSink(t == null ? null : t::op);
    }

    /** The lane's thread name: Roles and the timeline key its hook decisions and column on it. */
    String threadName() { return "lane:" + kind.label + ":" + cx.fsIndex; }

    @Override
    public final void run() {
        Thread self = Thread.currentThread();
        String old = self.getName();
        threadName = threadName();
        self.setName(threadName);
        if (cx.watchdog != null) {
            cx.watchdog.watch(busy);
        }
        try {
            body();
        } catch (StopLane e) {
            // the cycle is over for this lane
        } catch (RuntimeException | Error e) {
            cx.obs.laneError(kind.label, "lane", e);
            cx.breakCycle();
        } finally {
            try {
                cleanup();
            } catch (StopLane | KernelPanic e) {
                // nothing more to do
            } catch (RuntimeException e) {
                cx.obs.note(kind.label + " cleanup: " + e);
            } finally {
                if (cx.watchdog != null) {
                    cx.watchdog.unwatch(busy);
                }
                self.setName(old);
            }
        }
    }

    /** The lane's operations. */
    abstract void body();

    /** Closes what the lane still holds (after the last operation, or after a break). */
    void cleanup() { }

    /** True while the lane should go on. */
    boolean going() { return !cx.stopped(); }

    /** The main device's current mount; StopLane if the cycle broke. */
    Btrfs fs() {
        if (cx.broken.get()) {
            throw new StopLane();
        }
        return cx.fs;
    }

    /** Errors the kernel's rules produce for a user: normal outcomes, not failures. */
    static boolean normal(Errno e) {
        return switch (e) {
            case EBUSY, EROFS, EINVAL, ENOENT, EEXIST, EINPROGRESS, ENOSPC, EINTR, ENOTEMPTY, EAGAIN, ENOTCONN, ECANCELED -> true;
            default -> false;
        };
    }

    /**
     * A normal outcome in this cycle: one of the kernel's rules ({@link #normal(Errno)}) or the error an
     * armed fault-injection site returns ({@code --faults}: a commit's EIO, a reservation's ENOSPC).
     */
    boolean expected(Errno e) { return expected(e, cx.injected); }

    /** A kernel rule's refusal, or an error {@code injected} (the cycle's armed faults) returns. */
    static boolean expected(Errno e, java.util.Set<Errno> injected) { return normal(e) || injected.contains(e); }

    /**
     * A tree block read that met what the disk holds where a block of an aborted transaction was never written:
     * EUCLEAN ("tree level mismatch", a bad checksum) or EIO after an injected fault aborted this mount's transaction —
     * btrfs_cleanup_one_transaction's btrfs_destroy_marked_extents drops the dirty extent buffers and the next search
     * reads the disk, as the kernel's (the full workload's triage, FullWorkload#unwrittenBlockRead, seed 45045; the
     * lanes met it in stop 27, seed 72072: an {@code rm -r}'s readdir after a commit's injected EIO). So after any
     * btrfs_handle_fs_error (the error state, no abort): the transaction kthread's btrfs_cleanup_transaction drops the
     * running transaction's blocks the same way (stop 72, class daf498b9: reset_balance_state's failed item deletion).
     */
    boolean unwrittenBlockRead(Errno e) {
        if ((e != Errno.EUCLEAN && e != Errno.EIO) || cx.injected.isEmpty()) {
            return false;
        }
        return aborted();
    }

    /** The main device's mount is in the error state or its transaction aborted. */
    private boolean aborted() {
        Btrfs f = cx.fs;
        if (f == null) {
            return false;
        }
        var st = f.fsState();
        return st.contains(org.jbtrfs.core.FsState.TRANS_ABORTED) || st.contains(org.jbtrfs.core.FsState.ERROR);
    }

    /**
     * A tree block read that met what a power cut left on the disk while the cut went on (stop 66): from the cut on the
     * disks drop every write (dm-flakey's drop_writes), so a block the filesystem wrote — or a replace copied to the disk
     * it then swapped in — reads back as what the disk held before: verify_parent_transid's EIO, the validation's
     * EUCLEAN. The kernel checks what the disk returns and fails the read, as it must; the disk lied. Found by the
     * replace lane (classes 06d28674, 6081a25e: a replace finished in the cut, then a read from its target, which holds
     * an earlier life of the filesystem or of an earlier epoch's). A replace's copy that met such a tree block on the
     * source ends -EIO too (stop 73: the later upstream DEV_REPLACE_UNREPAIRED_METADATA). {@code cutAtStart}: the cut
     * was on when the operation started.
     */
    boolean readInAPowerCut(BtrfsException e, boolean cutAtStart) {
        String m = e.getMessage() == null ? "" : e.getMessage();
        return (cutAtStart || cx.dropping) && (e.errno() == Errno.EIO || e.errno() == Errno.EUCLEAN)
            && (m.contains("parent transid verify failed") || m.contains("failed to read tree block")
                || m.contains("dev_replace from ") && m.endsWith(" ended with -5") || abortedInTheCut());
    }

    /**
     * The filesystem's transaction aborted while the cut went on, and the kernel logged such a read since the cut began:
     * the abort's cause was what the cut left, met by another task (stop 76, class fd9b0785: a replace finished in the
     * cut, "bad fsid on block" read from its target aborted the transaction, and a lane's fsync then failed its ordered
     * extent's join — "writeback error").
     */
    private boolean abortedInTheCut() {
        if (!cx.dropping || !aborted()) {
            return false;
        }
        return cx.module.log().since(cx.cutMark).stream().map(org.jbtrfs.core.LogEntry::message)
            .anyMatch(m -> m.contains("bad fsid on block") || m.contains("parent transid verify failed")
                || m.contains("failed to read tree block"));
    }

    /** Runs one operation under the watchdog's eye; null when the kernel refused it (a normal outcome). */
    <T> T op(String name, Supplier<T> s) {
        if (cx.broken.get()) {
            throw new StopLane();
        }
        busy.enter(name);
        boolean cutAtStart = cx.dropping;
        try {
            T v = s.get();
            completed(name);
            return v;
        } catch (BtrfsException e) {
            busy.outcome(e.errno().name());
            if (expected(e.errno()) || unwrittenBlockRead(e.errno()) || readInAPowerCut(e, cutAtStart)) {
                return null;
            }
            fail(name, e);
            throw new StopLane();
        } catch (KernelPanic e) {
            busy.outcome("KernelPanic");
            cx.breakCycle(); // the watchdog panicked the module: the hang is the class
            throw new StopLane();
        } catch (StopLane e) {
            throw e;
        } catch (RuntimeException | Error e) {
            busy.outcome(e.getClass().getSimpleName());
            fail(name, e);
            throw new StopLane();
        } finally {
            busy.exit();
        }
    }

    /** As {@link #op(String, Supplier)}; true when it succeeded. */
    boolean run(String name, Runnable op) {
        return op(name, () -> {
            op.run();
            return Boolean.TRUE;
        }) != null;
    }

    /** Tells the test listener, if any, that operation {@code name} completed. */
    void completed(String name) {
        java.util.function.Consumer<String> l = cx.opListener;
        if (l != null) {
            l.accept(kind.label + ":" + name);
        }
    }

    /** Operation {@code name} failed with {@code e}: the lane's error, and the cycle breaks. */
    void fail(String name, Throwable e) {
        cx.obs.laneError(kind.label, name, e);
        cx.breakCycle();
    }

    /** At the end of the lane, the cycle possibly broken: close {@code h} in this thread, whatever happens. */
    void closeAtEnd(FileHandle h) {
        if (h.isClosed()) {
            return;
        }
        try {
            if (cx.broken.get()) {
                h.close();
            } else {
                close(h);
            }
        } catch (StopLane | KernelPanic e) {
            // nothing more to do
        } catch (RuntimeException e) {
            cx.obs.note(kind.label + " close at end: " + e);
        }
    }

    /**
     * Closes {@code h}: a handle open for writing from the write path's worker (a delayed iput for the cleaner)
     * half the time, else in this thread. (A handle open for writing keeps the filesystem read-write: an RO
     * remount is EBUSY meanwhile.)
     */
    void close(FileHandle h) {
        if (h.mode().writes() && r.nextBoolean()) {
            closeFromWorker(h);
        } else {
            run("close", h::close);
        }
    }

    /**
     * The mode of a handle a lane keeps for a while: mostly O_RDONLY — kept across remounts, as a reader's — else
     * O_RDWR, which makes every RO remount meanwhile EBUSY and is EROFS on a read-only filesystem.
     */
    OpenMode heldMode() {
        return r.nextInt(3) == 0 ? OpenMode.READ_WRITE : OpenMode.READ_ONLY;
    }

    /**
     * Close with writeback in flight ({@link FileHandle#closeFromWorker()}). When the kernel refuses its
     * write (ENOSPC on a full filesystem, say) the handle stays open; the process still closes its file,
     * as close(2) after a failed write does — a handle no lane remembers would keep the filesystem busy
     * and fail every later umount and the next epoch's mkfs with EBUSY.
     */
    void closeFromWorker(FileHandle h) {
        if (!run("close from worker", h::closeFromWorker) && !h.isClosed()) {
            run("close", h::close);
        }
    }

    /** A seeded pause between operations: nothing, a yield, or 20–300 µs. */
    void pause() {
        double u = r.nextDouble();
        if (u < 0.25) {
            Thread.yield();
        } else if (u < 0.4) {
            ScheduleScope.sleep(20_000 + r.nextInt(280_000));
        }
    }
}
