package org.jbtrfs.stress.engine;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.fs.internal.Internals;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.jbtrfs.stress.StressOptions;
import org.jbtrfs.stress.classify.FailureClass;
import org.jbtrfs.stress.classify.Symptom;
import org.jbtrfs.stress.report.Summary;
import org.jbtrfs.stress.watch.Busy;
import org.jbtrfs.stress.watch.Watchdog;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.Test;

class WatchdogTest {
    @Test
    void aDriverBlockedPastTheLimitIsReportedWithEveryThreadsStack() {
        Busy stuck = new Busy("driver-0");
        Busy idle = new Busy("driver-1");
        AtomicReference<Watchdog.Hung> seen = new AtomicReference<>();
        try (Watchdog w = new Watchdog(List.of(idle, stuck), 50_000_000L, seen::set)) {
            stuck.enter("umount");
            Waits.within(Duration.ofSeconds(5)).until(() -> seen.get() != null);
        }
        String r = seen.get().report();
        assertTrue(r.startsWith("INFO: task driver-0 blocked for more than 0 seconds in 'umount'."), r);
        assertTrue(r.contains("task:stress-watchdog"), "all threads are dumped: " + r);
    }

    @Test
    void aDriverBetweenOperationsIsNotHung() {
        Busy b = new Busy("driver-0");
        AtomicReference<Watchdog.Hung> seen = new AtomicReference<>();
        try (Watchdog w = new Watchdog(List.of(b), 20_000_000L, seen::set)) {
            b.enter("mount");
            b.exit();
            Waits.within(Duration.ofSeconds(1)).during(Duration.ofMillis(150)).until(() -> seen.get() == null);
        }
    }

    /**
     * End to end, deterministic: the first module's RO remounts park for ever at a hook (a deadlock, as a
     * dead kthread or a lost wake-up with no timer leaves one). The watchdog reports the hung task as a
     * class, panics the module (the parked remount ends with KernelPanic), the driver unloads it and goes
     * on with a fresh one, and the run ends on its cycle bound (the hung cycle ended its epoch).
     */
    @Test
    void aHungTaskIsAClassTheModuleIsReloadedAndTheRunGoesOn() {
        java.util.concurrent.atomic.AtomicInteger loads = new java.util.concurrent.atomic.AtomicInteger();
        ModuleHost.onLoad = m -> {
            if (loads.incrementAndGet() == 1) {
                m.hooks().arm(org.jbtrfs.core.Hook.REMOUNT_BEFORE_COMMIT_SUPER, org.jbtrfs.core.HookAction.park(), -1);
            }
        };
        try {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            Summary s = StressRunner.run(StressOptions.defaults().withWorkload(StressOptions.Workload.FULL).withSeed(4)
                    .withHungTaskNanos(300_000_000L).withCycles(org.jbtrfs.stress.Seeds.EPOCH + 5).withDurationNanos(60_000_000_000L),
                new java.io.PrintStream(out, true), false);
            String text = out.toString();
            assertTrue(s.aborted() == null, "the run is not aborted: " + s.aborted());
            // cycle 0 hung, which ends its epoch: the run goes on with the next epoch, cycles 16..20
            assertTrue(s.cycles() == 6, "it went on to its cycle bound: " + s.cycles() + "\n" + text);
            assertTrue(s.symptoms().get(Symptom.HUNG_TASK) == 1, s.symptoms().toString());
            assertTrue(s.moduleReloads() >= 1);
            FailureClass hang = s.classes().stream().filter(c -> c.kind().equals("hang")).findFirst().orElseThrow();
            assertTrue(hang.signature().equals("hang:remount ro in Hooks.arrive <- Remount.remountRo@driver"), hang.signature());
            assertTrue(hang.attributedTo().equals(List.of(FailureClass.UNEXPLAINED)));
            assertTrue(text.contains("INFO: task driver-0 blocked for more than"), text);
            assertTrue(text.contains("Kernel panic - not syncing: hung task: driver-0 blocked in 'remount ro'"), text);
            assertTrue(s.exitCode() == 1);
        } finally {
            ModuleHost.onLoad = null;
        }
    }

    /**
     * A lost wake-up is named at once, not after the hung-task limit: the first module's cleaner, at the end
     * of every pass, is held after its kthread_should_park() test until a park is requested (the window of
     * {@link org.jbtrfs.core.FixSwitch#CLEANER_LOST_PARK_WAKEUP}); the umount's kthread_park then wakes a
     * running task. Reverted, the cleaner sleeps through the request: the watchdog sees the state, the cycle
     * is a stall attributed to the switch, the module is panicked and reloaded, the run goes on — well before
     * the 60 s hung-task limit. Applied, the cleaner re-tests after setting its state and parks: no class.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "proposed fix applied={0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void aLostWakeUpIsNamedAtOnceAsAStall(boolean applied) {
        java.util.concurrent.atomic.AtomicInteger loads = new java.util.concurrent.atomic.AtomicInteger();
        ModuleHost.onLoad = m -> {
            if (loads.incrementAndGet() == 1) {
                java.util.concurrent.atomic.AtomicBoolean held = new java.util.concurrent.atomic.AtomicBoolean();
                m.hooks().arm(org.jbtrfs.core.Hook.CLEANER_BEFORE_SCHEDULE, org.jbtrfs.core.HookAction.run(() -> {
                    org.jbtrfs.core.kernel.Kthread self = Internals.kernel(m).kthreadd().current();
                    held.set(true);
                    Waits.within(Duration.ofSeconds(30)).until(self::shouldPark);
                    held.set(false);
                }), -1);
                // and the umount begins only once the cleaner is held there (its first pass may still run)
                m.hooks().arm(org.jbtrfs.core.Hook.UMOUNT_START, org.jbtrfs.core.HookAction.run(
                    () -> Waits.within(Duration.ofSeconds(30)).untilTrue(held)), -1);
                // the transaction kthread wakes the cleaner on every loop: once the cleaner is held, a loop of it during
                // the umount would end the stall before the watchdog's probe names it (a build under load failed so
                // once: cycle 0 parked, cycle 1 stalled). It waits in its loop until close_ctree stops it (applied: the
                // cleaner parked) or the watchdog panicked the module (reverted)
                m.hooks().arm(org.jbtrfs.core.Hook.TRANS_KTHREAD_BEFORE_SLEEP, org.jbtrfs.core.HookAction.run(() -> {
                    var k = Internals.kernel(m);
                    org.jbtrfs.core.kernel.Kthread trans = k.kthreadd().current();
                    if (held.get()) {
                        Waits.within(Duration.ofSeconds(30)).until(() -> k.sched().panicked() || trans.shouldStop());
                    }
                }), -1);
            }
        };
        try {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            java.util.Set<org.jbtrfs.core.FixSwitch> reverted = applied ? java.util.Set.of()
                : java.util.Set.of(org.jbtrfs.core.FixSwitch.CLEANER_LOST_PARK_WAKEUP);
            Summary s = StressRunner.run(StressOptions.defaults().withWorkload(StressOptions.Workload.MINIMAL).withSeed(4)
                    .withReverted(reverted).withHungTaskNanos(60_000_000_000L).withCycles(org.jbtrfs.stress.Seeds.EPOCH + 3)
                    .withDurationNanos(120_000_000_000L),
                new java.io.PrintStream(out, true), false);
            String text = out.toString();
            assertTrue(s.aborted() == null, "the run is not aborted: " + s.aborted());
            // reverted, cycle 0 fails, which ends its epoch: the run goes on with cycles 16..18
            long expected = applied ? org.jbtrfs.stress.Seeds.EPOCH + 3 : 4;
            assertTrue(s.cycles() == expected, "it went on to its cycle bound: " + s.cycles() + "\n" + text);
            assertTrue(s.symptoms().get(Symptom.HUNG_TASK) == 0, s.symptoms().toString());
            if (applied) {
                assertTrue(s.classes().isEmpty(), text);
                assertTrue(s.exitCode() == 0);
                return;
            }
            FailureClass stall = s.classes().stream().filter(c -> c.kind().equals("stall")).findFirst().orElseThrow();
            assertTrue(stall.signature().equals("stall:umount in Kthread.park <- CloseCtree.closeCtree@driver"), stall.signature());
            assertTrue(stall.attributedTo().equals(List.of("cleaner-lost-park-wakeup")), stall.attributedTo().toString());
            assertTrue(stall.symptoms().equals(List.of("STALL")), "nothing the panic did afterwards counts: " + stall.symptoms());
            assertTrue(s.classes().size() == 1, text);
            assertTrue(s.moduleReloads() >= 1);
            assertTrue(text.contains("for a lost wake-up (btrfs-cleaner sleeps in TASK_INTERRUPTIBLE through kthread_park"), text);
            assertTrue(s.exitCode() == 1);
        } finally {
            ModuleHost.onLoad = null;
        }
    }

    /**
     * A dead task shortens the hung-task limit: the first module's qgroup rescan worker dies before its status
     * update (an exception thrown at a hook: an oops in the kworker, taint D), so it never calls complete_all().
     * The next wait for the rescan (an RO remount's or umount's) waits for ever; the watchdog names it a hung task after {@link
     * StressRunner#DEAD_TASK_LIMIT_NANOS}, not after the 60 s hung-task limit, and its report says why. The cycle's
     * class is the oops (it ranks before the hang), the module is reloaded and the run goes on.
     */
    @Test
    void anOperationBlockedOnADeadTaskIsHungAfterTheShortLimit() {
        java.util.concurrent.atomic.AtomicInteger loads = new java.util.concurrent.atomic.AtomicInteger();
        ModuleHost.onLoad = m -> {
            if (loads.incrementAndGet() == 1) {
                m.hooks().arm(org.jbtrfs.core.Hook.QGROUP_RESCAN_BEFORE_STATUS_UPDATE, org.jbtrfs.core.HookAction.run(() -> {
                    throw new IllegalStateException("test: the rescan worker dies before complete_all");
                }), 1);
            }
        };
        try {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            Summary s = StressRunner.run(StressOptions.defaults().withWorkload(StressOptions.Workload.FULL).withSeed(4)
                    .withHungTaskNanos(60_000_000_000L).withCycles(org.jbtrfs.stress.Seeds.EPOCH + 2)
                    .withDurationNanos(120_000_000_000L),
                new java.io.PrintStream(out, true), false);
            String text = out.toString();
            assertTrue(s.aborted() == null, "the run is not aborted: " + s.aborted());
            assertTrue(s.symptoms().get(Symptom.HUNG_TASK) == 1, s.symptoms() + "\n" + text);
            assertTrue(text.contains("ms in '") && text.contains("on a module with a dead task"), text);
            FailureClass oops = s.classes().stream().filter(c -> c.kind().equals("oops")).findFirst().orElseThrow();
            assertTrue(oops.signature().startsWith("oops:"), oops.signature());
            assertTrue(s.classes().size() == 1, text);
            assertTrue(s.moduleReloads() >= 1);
        } finally {
            ModuleHost.onLoad = null;
        }
    }

    /**
     * With several filesystems a lane's hang belongs to its own filesystem's cycle. On the first module, every
     * operation of filesystem 1's lanes blocks for ever in a kernel sleep at its first hook (a deadlock, as a dead
     * worker leaves one); filesystem 0 runs on, so a cycle of it is in progress when the hang is reported (the cycle
     * bound is far off: 3 of 3 runs failed without the fix, naming filesystem 0's cycle 6 or 7). The hung task is a lane of filesystem 1, so its class's replay token
     * names filesystem 1 and the verdict reads that filesystem's cycle. Before the fix (stop 23) the hang went to the
     * first driver with a cycle in progress — filesystem 0's: another cycle's log, replay token and timeline, which
     * left the `qgroup-status-rescan-without-on` time-to-find runs' hangs unexplained (the resumed rescan's oops was in
     * filesystem 1's log, the verdict read filesystem 0's).
     */
    @Test
    void aLanesHangWithSeveralFilesystemsIsItsOwnFilesystemsCycle() {
        java.util.concurrent.atomic.AtomicInteger loads = new java.util.concurrent.atomic.AtomicInteger();
        ModuleHost.onLoad = m -> {
            if (loads.incrementAndGet() == 1) {
                Runnable deadlock = () -> {
                    String n = Thread.currentThread().getName();
                    if (n.startsWith("lane:") && n.endsWith(":1")) {
                        Object never = new Object();
                        synchronized (never) {
                            Internals.kernel(m).sched().waitUntil(never, "a test's deadlock", () -> false);
                        }
                    }
                };
                for (org.jbtrfs.core.Hook h : List.of(org.jbtrfs.core.Hook.UMOUNT_START, org.jbtrfs.core.Hook.REMOUNT_AFTER_SET_RO,
                        org.jbtrfs.core.Hook.MOUNT_BEFORE_FS_OPEN, org.jbtrfs.core.Hook.TRANSACTION_CREATED)) {
                    m.hooks().arm(h, org.jbtrfs.core.HookAction.run(deadlock), -1);
                }
            }
        };
        try {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            Summary s = StressRunner.run(StressOptions.defaults().withSeed(4).withFilesystems(2)
                    .withHungTaskNanos(300_000_000L).withCycles(120).withDurationNanos(60_000_000_000L),
                new java.io.PrintStream(out, true), false);
            String text = out.toString();
            assertTrue(s.aborted() == null, "the run is not aborted: " + s.aborted());
            assertTrue(s.symptoms().get(Symptom.HUNG_TASK) == 1, s.symptoms() + "\n" + text);
            FailureClass hang = s.classes().stream().filter(c -> c.kind().equals("hang")).findFirst().orElseThrow();
            assertTrue(hang.signature().startsWith("hang:"), hang.signature());
            assertTrue(hang.firstToken().fs() == 1, "the hung lane's filesystem: " + hang.firstReplay() + "\n" + text);
            assertTrue(s.moduleReloads() >= 1);
        } finally {
            ModuleHost.onLoad = null;
        }
    }
}
