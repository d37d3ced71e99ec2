package org.jbtrfs.core.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.jbtrfs.core.HookListener;
import org.jbtrfs.core.Hooks;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.ManualClock;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Hooks that know their caller: an arrival carries the role of the arriving thread, and an action restricted
 * to roles lets every other caller of the same function through untouched.
 */
class HookRolesTest {
    private static final Hook H = Hook.CLEANER_BEFORE_DELAYED_IPUT;
    private final Hooks hooks = new Hooks();

    @AfterEach
    void releaseEverything() { hooks.reset(); }

    /** A thread serving {@code role} that arrives at {@code hook} once, then counts its pass. */
    private TestThread<Void> arriveAs(Role role, Hook hook, AtomicInteger passed) {
        return TestThread.run(role.name().toLowerCase(), () -> {
            try (Role.Scope s = role.enter()) {
                hooks.arrive(hook);
            }
            passed.incrementAndGet();
        });
    }

    @Test
    void aThreadNobodyMarkedIsAUserTask() {
        assertEquals(Role.USER, Role.current());
    }

    @Test
    void scopesNestAndRestoreTheOuterRole() {
        try (Role.Scope worker = Role.WORKER.enter()) {
            assertEquals(Role.WORKER, Role.current());
            Role.RESCAN_WORKER.wrap(() -> assertEquals(Role.RESCAN_WORKER, Role.current())).run();
            assertEquals(Role.WORKER, Role.current());
        }
        assertEquals(Role.USER, Role.current());
    }

    @Test
    void aScopeIsClosedByTheThreadThatEnteredIt() throws Exception {
        AtomicReference<Role.Scope> scope = new AtomicReference<>();
        TestThread.run("kthread", () -> scope.set(Role.KTHREAD.enter())).join();
        assertThrows(IllegalStateException.class, () -> scope.get().close());
    }

    @Test
    void aParkForTheCleanerLetsAnotherCallerPassAndWaitsForTheCleaner() throws Exception {
        hooks.parkAt(H, Role.CLEANER);
        AtomicInteger passed = new AtomicInteger();

        hooks.arrive(H); // the test thread: a user task, as a remount running btrfs_run_delayed_iputs
        TestThread<Void> worker = arriveAs(Role.WORKER, H, passed);
        worker.join();

        assertEquals(1, passed.get(), "the kworker passed too");
        assertFalse(hooks.isParked(H));
        assertEquals(2, hooks.arrivals(H), "both arrivals are seen");
        assertEquals(0, hooks.hits(H), "neither counts against the arm");

        TestThread<Void> cleaner = arriveAs(Role.CLEANER, H, passed);
        hooks.awaitParked(H, Waits.BOUND); // the arm (times = 1) was kept for the cleaner
        assertEquals(1, passed.get());
        assertEquals(1, hooks.hits(H));
        hooks.release(H);
        cleaner.join();
        assertEquals(2, passed.get());
    }

    @Test
    void withoutARoleTheFirstCallerParksWhateverItServes() throws Exception {
        hooks.parkAt(H);
        AtomicInteger passed = new AtomicInteger();
        TestThread<Void> user = arriveAs(Role.USER, H, passed);
        hooks.awaitParked(H, Waits.BOUND);
        TestThread<Void> cleaner = arriveAs(Role.CLEANER, H, passed);
        cleaner.join(); // times = 1: used up by the user task, so the cleaner passes
        assertEquals(1, passed.get());
        assertTrue(hooks.isParked(H));
        hooks.release(H);
        user.join();
        assertEquals(2, passed.get());
        assertEquals(2, hooks.hits(H));
    }

    @Test
    void awaitParkedNamesTheRolesItWaitsFor() {
        hooks.parkAt(H, Role.CLEANER);
        hooks.arrive(H);
        AssertionError e = assertThrows(AssertionError.class, () -> hooks.awaitParked(H, Duration.ofMillis(1)));
        assertTrue(e.getMessage().contains("only [CLEANER] park there"), e.getMessage());
    }

    @Test
    void aDelayForTheCleanerDelaysTheCleanerOnly() throws Exception {
        long delay = TimeUnit.MILLISECONDS.toNanos(50);
        hooks.arm(H, HookAction.delay(delay).onlyFor(Role.CLEANER), -1);
        AtomicInteger passed = new AtomicInteger();
        long start = System.nanoTime();
        arriveAs(Role.CLEANER, H, passed).join();
        assertTrue(System.nanoTime() - start >= delay, "the cleaner was delayed");
        assertEquals(1, hooks.hits(H));
    }

    @Test
    void aDelayForTheCleanerLeavesEveryOtherRoleAlone() {
        hooks.arm(H, HookAction.delay(TimeUnit.HOURS.toNanos(1)).onlyFor(Role.CLEANER), -1);
        // an hour if the restriction were ignored: the assertion's bound is not a race, only a guard
        assertTimeoutPreemptively(Waits.BOUND, () -> {
            for (Role r : List.of(Role.USER, Role.WORKER, Role.TRANSACTION_KTHREAD, Role.RESCAN_WORKER, Role.KTHREAD)) {
                try (Role.Scope s = r.enter()) {
                    hooks.arrive(H);
                }
            }
        });
        assertEquals(0, hooks.hits(H));
        assertEquals(5, hooks.arrivals(H));
    }

    @Test
    void callbacksAndCountsCanBeRestrictedToSeveralRoles() {
        List<Role> ran = new CopyOnWriteArrayList<>();
        hooks.arm(H, HookAction.run(() -> ran.add(Role.current())).onlyFor(Role.CLEANER, Role.TRANSACTION_KTHREAD), -1);
        for (Role r : Role.values()) {
            try (Role.Scope s = r.enter()) {
                hooks.arrive(H);
            }
        }
        assertEquals(List.of(Role.CLEANER, Role.TRANSACTION_KTHREAD), ran);
        assertEquals(2, hooks.hits(H));

        hooks.arm(Hook.TRANSACTION_CREATED, HookAction.count().onlyFor(Role.RESCAN_WORKER), -1);
        Role.RESCAN_WORKER.wrap(() -> hooks.arrive(Hook.TRANSACTION_CREATED)).run();
        hooks.arrive(Hook.TRANSACTION_CREATED);
        assertEquals(1, hooks.hits(Hook.TRANSACTION_CREATED));
        assertEquals(2, hooks.arrivals(Hook.TRANSACTION_CREATED));
    }

    @Test
    void anActionSaysWhichRolesItAppliesTo() {
        HookAction any = HookAction.park();
        HookAction cleaner = any.onlyFor(Role.CLEANER);
        assertEquals(Set.of(), any.roles());
        assertTrue(any.appliesTo(Role.USER));
        assertEquals(Set.of(Role.CLEANER), cleaner.roles());
        assertFalse(cleaner.appliesTo(Role.USER));
        assertEquals("park only for [CLEANER]", cleaner.toString());
    }

    @Test
    void theListenerIsToldTheRoleOfEveryArrival() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        hooks.setListener(new HookListener() {
            @Override
            public void arrived(Hook hook, Thread thread) { }

            @Override
            public void arrived(Hook hook, Thread thread, Role role) { seen.add(hook + "@" + role); }
        });
        TestThread.run("btrfs-transaction", Role.TRANSACTION_KTHREAD.wrap(() -> hooks.arrive(Hook.TRANS_KTHREAD_BEFORE_COMMIT))::run).join();
        hooks.arrive(Hook.REMOUNT_AFTER_SET_RO);
        assertEquals(List.of("TRANS_KTHREAD_BEFORE_COMMIT@TRANSACTION_KTHREAD", "REMOUNT_AFTER_SET_RO@USER"), seen);
    }

    @Test
    void aTwoArgumentListenerStillSeesEveryArrival() {
        List<String> seen = new CopyOnWriteArrayList<>();
        hooks.setListener((hook, thread) -> seen.add(hook + "@" + Role.current()));
        Role.CLEANER.wrap(() -> hooks.arrive(H)).run();
        assertEquals(List.of(H + "@CLEANER"), seen);
    }

    /** Kthreads serve their role while their function runs; the lent thread goes back to the pool unmarked. */
    @Test
    void aKthreadServesItsRoleAndItsPooledThreadForgetsIt() throws Exception {
        ManualClock clock = new ManualClock();
        LentThreads threads = new LentThreads("roles-idle");
        Kthreadd kthreadd = new Kthreadd(clock, new KernelLog(64, clock), new Sched(), threads);
        try {
            AtomicReference<Role> inside = new AtomicReference<>();
            AtomicReference<Role> plain = new AtomicReference<>();
            Kthread cleaner = kthreadd.run("btrfs-cleaner", Role.CLEANER, self -> {
                inside.set(Role.current());
                return 0;
            });
            Waits.within().until(cleaner::hasExited);
            Kthread other = kthreadd.run("test-kthread", self -> {
                plain.set(Role.current());
                return 0;
            });
            Waits.within().until(other::hasExited);
            assertEquals(Role.CLEANER, inside.get());
            assertEquals(Role.KTHREAD, plain.get(), "a kthread started without a role");
            assertEquals(1, threads.threadsCreated(), "the same pooled thread served both");
            AtomicReference<Role> afterwards = new AtomicReference<>();
            LentThreads.Lease lease = threads.lend("job", () -> afterwards.set(Role.current()));
            assertTrue(lease.await(TimeUnit.SECONDS.toNanos(10)));
            assertEquals(Role.USER, afterwards.get(), "the pooled thread carries no role between jobs");
        } finally {
            kthreadd.shutdown(5_000);
        }
    }
}
