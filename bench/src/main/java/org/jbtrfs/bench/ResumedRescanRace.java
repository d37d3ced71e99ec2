package org.jbtrfs.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.LatencyModel;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.BtrfsModule;

/**
 * Issue 10 item 7: the unforced outcome of a rescan resumed by an RO→RW remount, the scenario the
 * differential harness ran on a real Linux (the resumed rescan completed 39 times of 39 there).
 *
 * <p>Per run, on one filesystem with {@code extents} data extents and quotas on:
 * <ol>
 *   <li>mount RW (a rescan left paused by the previous run resumes and is waited for);</li>
 *   <li>{@code btrfs quota rescan}; the worker is parked (hook) part-way through the extent tree, a
 *       remount RO is started, and once it has set REMOUNTING the worker is released: it stops,
 *       "qgroup scan paused" — forced, only to get the rescan paused at all (it is ~3 ms long);</li>
 *   <li>umount, mount -o ro (btrfs_read_qgroup_config: qgroup_rescan_init from the saved progress);</li>
 *   <li><b>unforced</b>: remount rw — btrfs_start_pre_rw_mount queues the worker
 *       (btrfs_qgroup_rescan_resume) before btrfs_remount clears REMOUNTING. Does the worker's first
 *       rescan_should_stop() come after that ("qgroup scan completed") or before ("qgroup scan
 *       paused" again)? No hook is armed here; a listener only records when the worker first
 *       arrives at its stop check;</li>
 *   <li>umount.</li>
 * </ol>
 *
 * <p>Run (after {@code mvn -B -q package -DskipTests}):
 * {@code java -Xms4g -Xmx4g -cp bench/target/jbtrfs-bench.jar org.jbtrfs.bench.ResumedRescanRace
 * [runs=40] [extents=100000] [latency=off|virtio|LIST]} where LIST is
 * {@code read,write,flush,wakeup} in µs ({@link LatencyModel#parse}). Prints the counts and, per run,
 * the worker's first stop check relative to the end of the remount (negative: before REMOUNTING was
 * cleared, so it paused).
 */
public final class ResumedRescanRace {
    private ResumedRescanRace() { }

    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 40;
        int extents = args.length > 1 ? Integer.parseInt(args[1]) : 100_000;
        LatencyModel latency = args.length > 2 ? LatencyModel.parse(args[2]) : LatencyModel.NONE;
        ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("org.jbtrfs.kernel"))
            .setLevel(ch.qos.logback.classic.Level.WARN);

        BtrfsModule mod = BtrfsModule.load(KernelConfig.defaults().latency(latency));
        BlockDevice dev = mod.createDevice("sdc", RescanFixture.deviceSize(extents));
        mod.mkfs(dev);
        Btrfs fs = mod.mount(dev, "");
        long t0 = System.nanoTime();
        RescanFixture.build(fs, extents);
        fs.quotaEnable();
        fs.quotaRescanWait();
        fs.sync();
        int leaves = RescanFixture.extentItems(fs)[1];
        fs.umount();
        System.out.printf(Locale.ROOT, "built %d extents (%d extent-tree leaves) in %.1f s; latency model %s%n",
            extents, leaves, (System.nanoTime() - t0) / 1e9, latency);

        int completed = 0;
        int pausedAgain = 0;
        List<String> rows = new ArrayList<>();
        for (int run = 1; run <= runs; run++) {
            Outcome o = oneRun(mod, dev, leaves);
            if (o.completed) {
                completed++;
            } else {
                pausedAgain++;
            }
            rows.add(String.format(Locale.ROOT, "run %2d: %-12s first stop check %+8.1f us after the remount returned"
                + " (remount rw took %.1f us)", run, o.completed ? "completed" : "paused again",
                (o.firstCheck - o.remountEnd) / 1e3, (o.remountEnd - o.remountStart) / 1e3));
        }
        rows.forEach(System.out::println);
        System.out.printf(Locale.ROOT, "%nresumed rescan after remount rw: completed %d of %d, paused again %d of %d"
            + " (latency model %s, %d CPUs, %s %s)%n", completed, runs, pausedAgain, runs, latency,
            Runtime.getRuntime().availableProcessors(), System.getProperty("java.vm.name"), System.getProperty("java.version"));
        var report = mod.unload();
        if (!report.clean() || mod.log().tainted()) {
            System.err.println(mod.log().dmesg());
            throw new IllegalStateException("the filesystem did not unmount cleanly: " + report);
        }
    }

    private record Outcome(boolean completed, long remountStart, long remountEnd, long firstCheck) { }

    private static Outcome oneRun(BtrfsModule mod, BlockDevice dev, int leaves) throws Exception {
        // 1) RW mount; a rescan the previous run left paused resumes here: let it finish
        Btrfs fs = mod.mount(dev, "");
        fs.quotaRescanWait();
        awaitNotRunning(fs);

        // 2) a rescan, paused by an RO remount (forced: park the worker half-way)
        parkAtArrival(mod, Math.max(2, leaves / 2));
        fs.quotaRescan();
        awaitTrue(() -> mod.hooks().isParked(Hook.QGROUP_RESCAN_BEFORE_LEAF));
        long mark = mod.log().mark();
        CompletableFuture<Void> ro = CompletableFuture.runAsync(() -> fs.remount("ro"));
        awaitTrue(() -> fs.inspect().state().contains(FsState.REMOUNTING));
        mod.hooks().disarm(Hook.QGROUP_RESCAN_BEFORE_LEAF);
        ro.get();
        awaitTrue(() -> logged(mod, mark, "qgroup scan paused"));

        // 3) umount, mount -o ro
        fs.umount();
        Btrfs ro2 = mod.mount(dev, "ro");

        // 4) unforced: remount rw; record the worker's first arrival at its stop check
        long[] firstCheck = new long[1];
        mod.hooks().setListener((hook, thread) -> {
            if (hook == Hook.QGROUP_RESCAN_BEFORE_LEAF && firstCheck[0] == 0) {
                firstCheck[0] = System.nanoTime();
            }
        });
        long mark2 = mod.log().mark();
        long start = System.nanoTime();
        ro2.remount("rw");
        long end = System.nanoTime();
        awaitTrue(() -> logged(mod, mark2, "qgroup scan paused") || logged(mod, mark2, "qgroup scan completed"));
        mod.hooks().setListener(null);
        boolean completed = logged(mod, mark2, "qgroup scan completed");

        // 5) umount
        ro2.umount();
        return new Outcome(completed, start, end, firstCheck[0]);
    }

    /** Parks the n-th arrival at QGROUP_RESCAN_BEFORE_LEAF (the first n-1 re-arm). */
    private static void parkAtArrival(BtrfsModule mod, int n) {
        if (n <= 1) {
            mod.hooks().arm(Hook.QGROUP_RESCAN_BEFORE_LEAF, HookAction.park());
            return;
        }
        mod.hooks().arm(Hook.QGROUP_RESCAN_BEFORE_LEAF, HookAction.run(() -> parkAtArrival(mod, n - 1)));
    }

    private static boolean logged(BtrfsModule mod, long mark, String text) {
        for (LogEntry e : mod.log().since(mark)) {
            if (e.message().contains(text)) {
                return true;
            }
        }
        return false;
    }

    private static void awaitNotRunning(Btrfs fs) throws InterruptedException {
        awaitTrue(() -> !fs.qgroupRescanRunning());
    }

    private static void awaitTrue(java.util.function.BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("timed out");
            }
            Thread.sleep(0, 100_000);
        }
    }
}
