package org.jbtrfs.bench.figures;

import java.util.List;
import java.util.Optional;
import org.jbtrfs.bench.Crc32cBenchmark;
import org.jbtrfs.bench.WorkqueueBenchmark;
import org.jbtrfs.bench.figures.JmhResults.Result;

/** crc32c, the unarmed hot-path checks, kthreads and workqueues. */
final class CoreSection extends JmhSection {
    private final Optional<Result> generic, accelerated, empty, volatileRead, flag, hook, pool, fresh, roundTrip, inFlight;

    CoreSection(Inputs in) {
        super(in);
        generic = jmh.find("Crc32cBenchmark.checksum16KiB", "driver", "GENERIC");
        accelerated = jmh.find("Crc32cBenchmark.checksum16KiB", "driver", "ACCELERATED");
        empty = jmh.find("HotPathBenchmark.baselineEmpty");
        volatileRead = jmh.find("HotPathBenchmark.baselineVolatileRead");
        flag = jmh.find("HotPathBenchmark.flagWordTest");
        hook = jmh.find("HotPathBenchmark.hooksArriveUnarmed");
        pool = jmh.find("KthreadBenchmark.kthreaddRunStop");
        fresh = jmh.find("KthreadBenchmark.freshThreadStartJoin");
        roundTrip = jmh.find("WorkqueueBenchmark.queueWorkRoundTrip");
        inFlight = jmh.find("WorkqueueBenchmark.queueWorkInFlight");
    }

    /** GB/s of a crc32c result in ns per block: bytes per ns. */
    private static String gbps(Optional<Result> r) {
        return r.map(x -> Fmt.num(Crc32cBenchmark.BYTES / x.score()) + " GB/s").orElse(Inputs.NOT_RUN);
    }

    /**
     * Whether an unarmed check is distinguishable from one volatile read: less than a nanosecond apart,
     * or apart by less than their error bars, is the harness's own per-call cost (the JIT unrolls JMH's
     * loop), not a cost of the check, and no sub-nanosecond number is printed as its cost.
     */
    static String verdict(Optional<Result> check, Optional<Result> baseline) {
        if (check.isEmpty() || baseline.isEmpty()) {
            return Inputs.NOT_RUN;
        }
        Result c = check.get();
        Result b = baseline.get();
        double extra = c.score() - b.score();
        double noise = (Double.isNaN(c.error()) ? 0 : c.error()) + (Double.isNaN(b.error()) ? 0 : b.error());
        return extra < 1.0 || extra < noise
            ? "at loop cost: indistinguishable from a volatile read (less than 1 ns apart, or within the error bars)"
            : Fmt.num(extra) + " ns over a volatile read";
    }

    @Override
    public String doc() {
        var crcRows = newRows();
        crcRows.add(row("crc32c-generic (slice-by-8), " + Crc32cBenchmark.BYTES / 1024 + " KiB", generic));
        crcRows.add(row("crc32c-intel (accelerated), " + Crc32cBenchmark.BYTES / 1024 + " KiB", accelerated));
        var hot = newRows();
        hot.add(row("baseline: empty benchmark method", empty));
        hot.add(row("baseline: one volatile read", volatileRead));
        hot.add(row("`FlagWord.test`, bit clear", flag));
        hot.add(row("`Hooks.arrive`, nothing armed", hook));
        var threads = newRows();
        threads.add(row("kthread run + stop through the kthreadd pool", pool));
        threads.add(row("fresh `java.lang.Thread` start + join", fresh));
        var wq = newRows();
        wq.add(row("`queueWork` → run → caller woken, one at a time", roundTrip));
        wq.add(row("`queueWork` with " + String.format(java.util.Locale.ROOT, "%,d", WorkqueueBenchmark.IN_FLIGHT) + " in flight, then flush (per work)", inFlight));
        return "## Core primitives (JMH: `org.jbtrfs.bench`)\n\n"
            + "### crc32c, generic vs accelerated (`Crc32cBenchmark`)\n\n"
            + "One " + Crc32cBenchmark.BYTES / 1024 + " KiB tree block per operation. The accelerated driver is `java.util.zip.CRC32C`, which the JIT\n"
            + "compiles to the CPU's `crc32` instruction; the generic one is the port's slice-by-8 table driver.\n"
            + "btrfs sets `BTRFS_FS_CSUM_IMPL_FAST` from the driver name, on the premise that the generic driver is\n"
            + "slow enough for checksumming to be worth moving to a workqueue (the async-submit path in which\n"
            + "patch 1/5's use-after-free happens). The block fits in L1, so these are compute-bound figures.\n\n"
            + table(crcRows) + "\n"
            + derived(v -> "In GB/s: generic " + gbps(generic) + ", accelerated " + gbps(accelerated)
                + "; the accelerated driver is " + Fmt.times(v[0] / v[1]) + " faster.\n\n", List.of(generic, accelerated))
            + "### Unarmed hooks and flag words (`HotPathBenchmark`)\n\n"
            + "Hooks sit on hot paths and promise one volatile read when nothing is armed. Measured against two\n"
            + "baselines taken the same way; on x86 a volatile read is a plain load and the JIT unrolls JMH's\n"
            + "loop, so a score here is the harness's per-call cost, not a per-check cost.\n\n"
            + table(hot) + "\n"
            + "- `FlagWord.test`: " + verdict(flag, volatileRead) + ".\n"
            + "- `Hooks.arrive`, unarmed: " + verdict(hook, volatileRead) + ".\n\n"
            + "### Kthreads: the kthreadd pool vs a fresh thread (`KthreadBenchmark`)\n\n"
            + "A pooled run + stop is three thread hand-offs (the job to a parked worker, the stop wake-up, the\n"
            + "exit notification back), so its cost is mostly wake-up latency (on an idle VM, the wake-up of a\n"
            + "halted vCPU) and depends on how busy the CPUs are: compare the load averages in the header before\n"
            + "comparing runs.\n"
            + "Where no wake-up cost is modelled (`LatencyModel.NONE`, as here), a thread about to block first polls\n"
            + "its wake-up for up to 50 µs, yielding the CPU each round (`IdlePoll`, the kernel's `poll_idle`): the\n"
            + "kthread in `schedule()`, the task waiting in `kthread_park`/`kthread_stop`, the pooled thread waiting\n"
            + "for its next job. A blocked Java ping-pong costs ~35 µs round trip on a 2-vCPU VM; the poll is what\n"
            + "took the minimal cycle from ~5,300 to ~10,000 cycles/s. While other processes keep the CPUs busy\n"
            + "(`ForeignLoad`, sampled from /proc every 100 ms) nothing polls: a yield next to a CPU-bound process\n"
            + "gives it a whole time slice (the minimal cycle fell to ~90–180 cycles/s next to two spinning shells\n"
            + "before that check, ~1,700 without polling).\n\n"
            + table(threads) + "\n"
            + derived(v -> "The pool is " + Fmt.times(v[1] / v[0]) + " cheaper than a fresh thread in this run.\n\n", List.of(pool, fresh))
            + "### Workqueues (`WorkqueueBenchmark`)\n\n"
            + "The \"worker\" queue (HIGHPRI, max_active 8, thresh 16, as `btrfs_init_workqueues` allocates it) on a\n"
            + "4-thread kworker pool. The round trip is dominated by waking a parked worker and then the parked\n"
            + "caller (futex wake-ups); in flight, a work costs the JCTools MPSC offer, the token hand-off and the run.\n\n"
            + table(wq);
    }

    @Override
    public List<Row> rows() {
        return List.of(
            new Row("crc32c generic (slice-by-8) / accelerated, " + Crc32cBenchmark.BYTES / 1024 + " KiB blocks", gbps(generic) + " / " + gbps(accelerated)),
            new Row("unarmed `FlagWord.test`, unarmed `Hooks.arrive`",
                flagAndHook()),
            new Row("kthread run + stop through the kthreadd pool / fresh `Thread` start + join",
                us(pool) + " / " + us(fresh)),
            new Row("`queueWork` → run → caller woken (round trip) / per work with " + String.format(java.util.Locale.ROOT, "%,d", WorkqueueBenchmark.IN_FLIGHT) + " in flight",
                us(roundTrip) + " / " + us(inFlight)));
    }

    private String flagAndHook() {
        String f = verdict(flag, volatileRead);
        String h = verdict(hook, volatileRead);
        return f.equals(h) && f.startsWith("at loop cost") ? "both at loop cost: indistinguishable from a volatile read"
            : "`FlagWord.test` " + f + "; `Hooks.arrive` " + h;
    }

    static String us(Optional<Result> r) {
        return r.map(x -> Fmt.num(x.score()) + " " + Fmt.unit(x.unit()).replace("/op", "")).orElse(Inputs.NOT_RUN);
    }
}
