package org.jbtrfs.stress.lanes;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The real threads one driver's lanes run on, kept across cycles (starting a thread costs hundreds of
 * microseconds here; a lanes cycle needs up to six). A lane that does not end after its module was
 * panicked (a sleep outside the module's kernel) is abandoned with its pool, which is replaced: the run
 * never waits for it.
 */
public final class LanePool {
    private static final AtomicInteger POOLS = new AtomicInteger();
    private final int fs;
    private ExecutorService pool;

    public LanePool(int fs) {
        this.fs = fs;
        this.pool = newPool();
    }

    private ExecutorService newPool() {
        int id = POOLS.incrementAndGet();
        AtomicInteger n = new AtomicInteger();
        return Executors.newFixedThreadPool(LaneKind.values().length, r -> {
            Thread t = new Thread(r, "lane-pool-" + fs + "." + id + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Runs the lanes concurrently and waits for all of them; after {@code graceNanos} past the point a
     * panic made them unwind, gives up on the stragglers (returns their names) and replaces the pool.
     */
    List<String> runAll(List<LaneWorker> lanes, java.util.function.BooleanSupplier panicked, long graceNanos) {
        List<Future<?>> fs = new ArrayList<>();
        for (LaneWorker l : lanes) {
            fs.add(pool.submit(l));
        }
        List<String> stuck = new ArrayList<>();
        long panicSeen = 0;
        for (int i = 0; i < fs.size(); i++) {
            Future<?> f = fs.get(i);
            while (true) {
                try {
                    f.get(100, TimeUnit.MILLISECONDS);
                    break;
                } catch (java.util.concurrent.TimeoutException e) {
                    if (panicked.getAsBoolean()) {
                        long now = System.nanoTime();
                        if (panicSeen == 0) {
                            panicSeen = now;
                        } else if (now - panicSeen > graceNanos) {
                            stuck.add(lanes.get(i).threadName() + where(lanes.get(i).threadName()));
                            break;
                        }
                    }
                } catch (java.util.concurrent.ExecutionException e) {
                    break; // LaneWorker.run catches everything; nothing gets here
                } catch (InterruptedException e) {
                    // nothing interrupts a driver to stop it (RunControl does that): this is a stray interrupt — a
                    // panic's, delivered after its sleeper had left the kernel — and must not make the driver
                    // abandon lanes that still run in this module. Keep waiting.
                }
            }
        }
        if (!stuck.isEmpty()) {
            pool.shutdownNow();
            pool = newPool();
        }
        return stuck;
    }

    public void close() { pool.shutdownNow(); }

    /** Where a lane that outlived the panic is: a wait that no panic ends is a sleep outside Sched. */
    private static String where(String threadName) {
        for (var e : Thread.getAllStackTraces().entrySet()) {
            if (e.getKey().getName().equals(threadName)) {
                StringBuilder sb = new StringBuilder(" (" + e.getKey().getState());
                StackTraceElement[] st = e.getValue();
                for (int i = 0; i < Math.min(8, st.length); i++) {
                    sb.append(i == 0 ? ": " : " <- ").append(st[i].getClassName().replaceAll(".*\\.", "")).append('.').append(st[i].getMethodName());
                }
                return sb.append(')').toString();
            }
        }
        return "";
    }
}
