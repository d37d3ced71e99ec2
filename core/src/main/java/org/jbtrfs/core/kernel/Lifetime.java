package org.jbtrfs.core.kernel;

import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.Taint;

/**
 * Use-after-free detection for one object with a lifetime (a workqueue, an extent buffer, a
 * transaction). {@link #free} poisons it and records who freed it; {@link #use} from then on logs a
 * KASAN-style report (what was used, the access stack, the free stack), taints the module and throws
 * an oops to the caller — where the real kernel would have dereferenced slab poison.
 */
public final class Lifetime {
    private final KernelLog log;
    private final String what;
    private volatile Throwable freedAt;
    private volatile String freedBy;

    public Lifetime(KernelLog log, String what) {
        this.log = log;
        this.what = what;
    }

    /** Poisons the object; a second free is a double free (synchronized: two racing frees must not both pass). */
    public synchronized void free() {
        if (freedAt != null) {
            log.taint(Taint.BAD_PAGE);
            throw log.oops(LogEntry.Kind.DOUBLE_FREE, "BUG: KASAN: double-free in " + what + "\nFreed by task "
                + freedBy + ":\n" + KernelLog.callTrace(freedAt, 1) + "\nCall Trace:\n" + KernelLog.callTrace(new Throwable(), 1));
        }
        freedBy = Thread.currentThread().getName();
        freedAt = new Throwable();
    }

    public boolean isFreed() { return freedAt != null; }

    /** Checks the object is alive before {@code function} dereferences it. */
    public void use(String function) {
        Throwable f = freedAt;
        if (f != null) {
            log.taint(Taint.BAD_PAGE);
            throw log.oops(LogEntry.Kind.USE_AFTER_FREE,
                "BUG: KASAN: use-after-free in " + function + "\n"
                    + "Read of size 8 at addr 6b6b6b6b6b6b6b6b (" + what + ") by task " + Thread.currentThread().getName() + "\n"
                    + "stack segment: 0000 [#1] PREEMPT SMP DEBUG_PAGEALLOC PTI\n"
                    + "RIP: 0010:" + function + "+0x36/0x190 [btrfs]\n"
                    + "Call Trace:\n" + KernelLog.callTrace(new Throwable(), 1) + "\n"
                    + "Freed by task " + freedBy + ":\n" + KernelLog.callTrace(f, 1));
        }
    }
}
