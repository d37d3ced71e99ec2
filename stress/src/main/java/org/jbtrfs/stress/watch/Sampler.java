package org.jbtrfs.stress.watch;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.concurrent.locks.LockSupport;

/**
 * Resource samples for soak runs ({@code -Djbtrfs.stress.sample=SECONDS}): live threads and heap used
 * right after a full GC, so a leak of threads or of memory across cycles shows as a trend.
 */
public final class Sampler implements AutoCloseable {
    private final Thread thread;
    private volatile boolean closed;

    private Sampler(long periodNanos, PrintStream out, long start) {
        thread = new Thread(() -> {
            while (!closed) {
                LockSupport.parkNanos(periodNanos);
                if (closed) {
                    return;
                }
                out.println(sample(start));
            }
        }, "stress-sampler");
        thread.setDaemon(true);
        thread.start();
    }

    /** A sampler if the property asks for one, else null. */
    public static Sampler fromProperty(PrintStream out, long start) {
        String p = System.getProperty("jbtrfs.stress.sample");
        if (p == null) {
            return null;
        }
        return new Sampler((long) (Double.parseDouble(p) * 1e9), out, start);
    }

    static String sample(long start) {
        System.gc();
        Runtime rt = Runtime.getRuntime();
        long used = rt.totalMemory() - rt.freeMemory();
        int threads = ManagementFactory.getThreadMXBean().getThreadCount();
        return String.format(Locale.ROOT, "sample t=%.0fs threads=%d heapAfterGcMiB=%.1f", (System.nanoTime() - start) / 1e9,
            threads, used / 1048576.0);
    }

    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(thread);
    }
}
