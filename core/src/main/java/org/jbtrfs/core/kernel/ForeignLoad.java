package org.jbtrfs.core.kernel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Whether other processes keep this machine's CPUs busy: then an {@link IdlePoll} would not find an idle
 * CPU. The kernel's poll_idle leaves as soon as another task is runnable on its CPU; a Java thread cannot
 * see that, and its {@code Thread.yield()} next to a CPU-bound process gives that process a whole time
 * slice — measured: the minimal lifecycle cycle fell from ~1,700 to ~90–180 cycles/s next to two spinning
 * shells on 2 CPUs. So the share of CPU time neither idle nor this JVM's is sampled from
 * {@code /proc/stat} and {@code /proc/self/stat} at most every {@link #PERIOD_NANOS} (by whichever thread
 * polls first after the period; two small file reads) and polling is off while it exceeds
 * {@link #BUSY_SHARE}. Where {@code /proc} cannot be read the machine counts as not busy.
 */
final class ForeignLoad {
    /** How often the share is sampled. */
    static final long PERIOD_NANOS = 100_000_000L;
    /** Above this share of all CPUs' time spent by other processes, polling is off. */
    static final double BUSY_SHARE = 0.25;

    private static final Path STAT = Path.of("/proc/stat");
    private static final Path SELF = Path.of("/proc/self/stat");
    private static final AtomicLong nextSample = new AtomicLong(System.nanoTime());
    private static volatile boolean busy;
    /** The last sample (guarded by the class: {@link #sample} is synchronized, once per period). */
    private static long lastTotal = -1;
    private static long lastIdle;
    private static long lastSelf;

    private ForeignLoad() { }

    /** Tests: true or false instead of the sample (null: sample). */
    private static volatile Boolean override;

    /** For tests: {@code busy()} answers {@code v} (null: from the samples again); returns the previous override. */
    static Boolean override(Boolean v) {
        Boolean was = override;
        override = v;
        return was;
    }

    /** True while other processes use more than {@link #BUSY_SHARE} of the CPUs (as of the last sample). */
    static boolean busy() {
        Boolean o = override;
        if (o != null) {
            return o;
        }
        long now = System.nanoTime();
        long next = nextSample.get();
        if (now - next >= 0 && nextSample.compareAndSet(next, now + PERIOD_NANOS)) {
            sample();
        }
        return busy;
    }

    private static synchronized void sample() {
        long[] cpu = cpuTicks();
        long self = selfTicks();
        if (cpu == null || self < 0) {
            busy = false;
            return;
        }
        if (lastTotal >= 0) {
            long total = cpu[0] - lastTotal;
            long idle = cpu[1] - lastIdle;
            long mine = self - lastSelf;
            busy = total > 0 && share(total, idle, mine) > BUSY_SHARE;
        }
        lastTotal = cpu[0];
        lastIdle = cpu[1];
        lastSelf = self;
    }

    /** The share of {@code total} CPU ticks that were neither idle nor this process's. */
    static double share(long total, long idle, long mine) {
        return Math.max(0, total - idle - mine) / (double) total;
    }

    /** {total, idle + iowait} ticks of all CPUs, from /proc/stat's first line; null if unreadable. */
    private static long[] cpuTicks() {
        try {
            String line = Files.readAllLines(STAT).get(0);
            String[] f = line.trim().split("\\s+");
            long total = 0;
            for (int i = 1; i < f.length && i <= 8; i++) { // user nice system idle iowait irq softirq steal
                total += Long.parseLong(f[i]);
            }
            return new long[] {total, Long.parseLong(f[4]) + Long.parseLong(f[5])};
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** utime + stime of this process in ticks, from /proc/self/stat; -1 if unreadable. */
    private static long selfTicks() {
        try {
            String s = Files.readString(SELF);
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" "); // fields from 3 on
            return Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14 and 15
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
