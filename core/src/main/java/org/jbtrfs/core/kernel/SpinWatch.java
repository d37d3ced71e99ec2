package org.jbtrfs.core.kernel;

import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.LogLevel;
import org.jbtrfs.core.Taint;

/**
 * kernel: the soft-lockup detector (kernel/watchdog.c) as one loop that spins without scheduling meets it. The
 * kernel's loop holds a spinlock and never sleeps, so nothing but a panic ends it; the port's calls {@link #turn()} on
 * each pass: past {@link org.jbtrfs.core.KernelConfig#softLockupNanos()} of real time it prints the watchdog's report
 * once ("watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [kworker/u4:3]", taint L) and spins on, and once the module
 * panicked (the hung-task watchdog's verdict on whoever waits for the spinner) it throws, which is how the port's
 * spinner unwinds where the kernel's machine would reboot.
 */
public final class SpinWatch {
    private final Kernel kernel;
    private final String rip;
    private final long start = System.nanoTime();
    private long turns;
    private boolean reported;

    /** A watch for a loop in kernel function {@code rip}, started now. */
    public SpinWatch(Kernel kernel, String rip) {
        this.kernel = kernel;
        this.rip = rip;
    }

    /** One more pass of the loop without scheduling. */
    public void turn() {
        turns++;
        if ((turns & 63) != 0) {
            Thread.onSpinWait();
            return;
        }
        kernel.sched().checkPanic();
        long stuck = System.nanoTime() - start;
        if (!reported && stuck > kernel.config().softLockupNanos()) {
            reported = true;
            kernel.log().taint(Taint.SOFTLOCKUP);
            kernel.log().log(LogLevel.EMERG, LogEntry.Kind.BUG, String.format(java.util.Locale.ROOT,
                "watchdog: BUG: soft lockup - CPU#0 stuck for %ds! [%s]%nRIP: %s", Math.max(1, stuck / 1_000_000_000L),
                Thread.currentThread().getName(), rip));
        }
        Thread.yield(); // the port's spinner must not starve the threads that would panic it
    }
}
