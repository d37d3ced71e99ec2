package org.jbtrfs.core;

import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Costs the kernel pays that the port's in-memory devices and user-space threads do not, so that the
 * relative timing of two racing tasks can land where it lands in the kernel. Off ({@link #NONE}) by
 * default, so unit tests stay fast; the stress runner and the differential harness switch it on with
 * {@link KernelConfig#latency(LatencyModel)}.
 *
 * <ul>
 *   <li>{@code readNanos}: a block device read (a tree block read that missed the btree inode's page
 *       cache, the superblock): read_tree_block waits for its bio, so the reading task waits this long.
 *       Cached reads cost nothing, as in the kernel, whose btree inode caches the same blocks.</li>
 *   <li>{@code writeNanos}: a block device write, paid by the writing task. The kernel submits a
 *       commit's dirty blocks together and waits once (btrfs_write_marked_extents, then
 *       btrfs_wait_marked_extents), so a per-write cost overstates a commit by the number of blocks;
 *       {@link #VIRTIO_BLK} leaves it at 0 and puts the commit's synchronous device cost in the flush.</li>
 *   <li>{@code flushNanos}: a cache flush (REQ_PREFLUSH in write_all_supers), paid by the committing task.</li>
 *   <li>{@code wakeupNanos}: the start latency of a kworker woken for a new work (queue_work to the work
 *       running), and of a kthread woken by wake_up_process, kthread_park or kthread_stop (its schedule()
 *       returns this much later). The kernel's woken kworker waits for a CPU: the waker's only once the waker leaves
 *       kernel mode (PREEMPT_NONE, this kernel's default: kernel code is not preempted), another one after
 *       its idle exit. The port's pool threads are user-space threads, and the woken one preempts its
 *       waker at once; without this cost a work starts before the code that queued it has gone on.</li>
 * </ul>
 *
 * <p>Every cost is a real wait of the paying thread ({@link #delay(long)}: parked, never spinning, so two
 * cores are not burnt), and only a delay: no interleaving becomes impossible, some become rarer.
 * Parking has the scheduler's timer slack (50 µs for normal threads on Linux), so a cost below that
 * takes about that long.
 */
public record LatencyModel(long readNanos, long writeNanos, long flushNanos, long wakeupNanos) {
    /** No modelled cost: the port's own speed (the default). */
    public static final LatencyModel NONE = new LatencyModel(0, 0, 0, 0);

    /**
     * What was measured on the machine kind this port is developed on (2 vCPUs, AMD EPYC, Firecracker,
     * virtio-blk; Linux 6.18, CONFIG_PREEMPT_NONE): 16 KiB O_DIRECT random reads p10 / p50 58 / 67 µs
     * → 60 µs; writes 0 (see the class comment; measured 54 / 60 µs each); fdatasync p10 / p50 138 /
     * 341 µs → 300 µs; btrfs_work_queued → btrfs_work_sched of the resumed qgroup rescan work (ftrace, 70
     * RO→RW remounts) p10 / p50 / p90 24 / 202 / 5108 µs → 200 µs. An NVMe device is in the same range for
     * reads (tens of µs for 16 KiB); see docs/latency-model.md for the commands.
     */
    public static final LatencyModel VIRTIO_BLK = new LatencyModel(us(60), 0, us(300), us(200));

    public LatencyModel {
        if (readNanos < 0 || writeNanos < 0 || flushNanos < 0 || wakeupNanos < 0) {
            throw new IllegalArgumentException("latencies must not be negative: " + readNanos + ", " + writeNanos
                + ", " + flushNanos + ", " + wakeupNanos);
        }
    }

    /** True if no device cost is modelled (the devices need no wrapper). */
    public boolean noDeviceCost() { return readNanos == 0 && writeNanos == 0 && flushNanos == 0; }

    /** A copy with the kworker start latency {@code d}. */
    public LatencyModel wakeup(Duration d) { return new LatencyModel(readNanos, writeNanos, flushNanos, d.toNanos()); }

    /** A copy with device read / write / flush latencies. */
    public LatencyModel device(Duration read, Duration write, Duration flush) {
        return new LatencyModel(read.toNanos(), write.toNanos(), flush.toNanos(), wakeupNanos);
    }

    /**
     * Parses "off" (or "none"), "virtio" ({@link #VIRTIO_BLK}), or four comma-separated microsecond
     * values "read,write,flush,wakeup" (e.g. "60,0,300,240"). IllegalArgumentException otherwise.
     */
    public static LatencyModel parse(String s) {
        String v = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
        switch (v) {
            case "off", "none" -> {
                return NONE;
            }
            case "virtio", "virtio-blk" -> {
                return VIRTIO_BLK;
            }
            default -> { }
        }
        String[] p = v.split(",");
        if (p.length != 4) {
            throw new IllegalArgumentException("latency model must be off, virtio or read,write,flush,wakeup in µs: '" + s + "'");
        }
        try {
            return new LatencyModel(us(Long.parseLong(p[0].trim())), us(Long.parseLong(p[1].trim())),
                us(Long.parseLong(p[2].trim())), us(Long.parseLong(p[3].trim())));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("latency model must be off, virtio or read,write,flush,wakeup in µs: '" + s + "'", e);
        }
    }

    /**
     * The calling thread waits {@code nanos} of real time, parked (never spinning). An interrupt does
     * not cut it short (the device or the scheduler does not care about signals); it is re-asserted.
     */
    public static void delay(long nanos) {
        if (nanos <= 0) {
            return;
        }
        long deadline = System.nanoTime() + nanos;
        boolean interrupted = false;
        long left;
        while ((left = deadline - System.nanoTime()) > 0) {
            LockSupport.parkNanos(left);
            if (Thread.interrupted()) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static long us(long micros) { return TimeUnit.MICROSECONDS.toNanos(micros); }

    /** What {@link #parse} reads back: "off", "virtio", or "read,write,flush,wakeup" in microseconds. */
    public String spec() {
        if (equals(NONE)) {
            return "off";
        }
        if (equals(VIRTIO_BLK)) {
            return "virtio";
        }
        return readNanos / 1000 + "," + writeNanos / 1000 + "," + flushNanos / 1000 + "," + wakeupNanos / 1000;
    }

    @Override
    public String toString() {
        if (equals(NONE)) {
            return "off";
        }
        return String.format(Locale.ROOT, "read %d µs, write %d µs, flush %d µs, kworker wake-up %d µs",
            readNanos / 1000, writeNanos / 1000, flushNanos / 1000, wakeupNanos / 1000);
    }
}
