package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.jbtrfs.core.HookListener;
import org.jbtrfs.core.Role;
import org.jbtrfs.core.WorkOwner;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.Test;

/**
 * Hooks that know their caller, on a mounted filesystem. btrfs_run_delayed_iputs — and with it
 * {@link Hook#CLEANER_BEFORE_DELAYED_IPUT} — runs in the cleaner and in a remount RO (patch 5/5), so a park
 * meant for the cleaner used to catch whichever thread came first; restricted to {@link Role#CLEANER} it
 * lets the remount through.
 */
class HookRolesTest {
    private static final Hook IPUT = Hook.CLEANER_BEFORE_DELAYED_IPUT;

    /** Records the role of every arrival at {@code hook}. */
    private static List<Role> rolesAt(BtrfsModule mod, Hook hook) {
        List<Role> roles = new CopyOnWriteArrayList<>();
        mod.hooks().setListener(new HookListener() {
            @Override
            public void arrived(Hook h, Thread thread) { }

            @Override
            public void arrived(Hook h, Thread thread, Role role) {
                if (h == hook) {
                    roles.add(role);
                }
            }
        });
        return roles;
    }

    /**
     * The example, on the kernel before patch 3/5 (the remount does not wait for the cleaner's pass):
     * 1. the cleaner runs the delayed iput of "a" and stands before it, parked; 2. "b"'s delayed iput is queued
     * behind it; 3. remount RO runs btrfs_run_delayed_iputs itself (5/5), reaches the same hook with "b" and
     * passes — then waits for cleaner_mutex in btrfs_commit_super; 4. released, the cleaner finishes and the
     * remount commits.
     */
    @Test
    void aParkForTheCleanerLetsTheRemountRunningTheSameFunctionPass() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED, FixSwitch.CLEANER_RO_REMOUNT_RACE)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            fs.createFile("b");
            FileHandle a = fs.open("a");
            FileHandle b = fs.open("b");
            List<Role> roles = rolesAt(r.mod, IPUT);
            r.mod.hooks().parkAt(IPUT, Role.CLEANER);
            a.closeFromWorker(); // btrfs_add_delayed_iput wakes the idle cleaner
            r.mod.hooks().awaitParked(IPUT, Repro.WAIT);
            b.closeFromWorker(); // queued behind "a": the cleaner is mid-pass
            assertEquals(List.of(b.ino()), fs.inspect().delayedIputs());

            TestThread<Void> remount = TestThread.run("mount -o remount,ro", () -> fs.remount("ro"));
            // btrfs_commit_super waits for cleaner_mutex, which the parked cleaner holds
            Repro.awaitBlockedOn(fs, "mount -o remount,ro", "mutex_lock(cleaner_mutex) held by btrfs-cleaner");
            assertFalse(remount.done());
            assertEquals(List.of(), fs.inspect().delayedIputs(), "the remount ran b's delayed iput itself");
            assertEquals(List.of(Role.CLEANER, Role.USER), roles);
            assertEquals(2, r.mod.hooks().arrivals(IPUT));
            assertEquals(1, r.mod.hooks().hits(IPUT), "the remount's arrival is not the arm's");
            assertTrue(r.mod.hooks().isParked(IPUT), "only the cleaner is parked");

            r.mod.hooks().release(IPUT);
            remount.join();
            Repro.awaitCleanerAsleep(fs);
            assertTrue(fs.isReadOnly());
            fs.umount();
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }

    /** A delayed iput the cleaner left (queued while it finished its pass): the next remount RO runs it. */
    private static FileHandle delayedIputLeftByTheCleaner(Repro r, Btrfs fs) {
        fs.createFile("f");
        FileHandle fh = fs.open("f");
        r.mod.hooks().parkAt(Hook.CLEANER_BEFORE_CLEAR_RUNNING);
        Repro.wakeCleaner(fs);
        r.mod.hooks().awaitParked(Hook.CLEANER_BEFORE_CLEAR_RUNNING, Repro.WAIT);
        fh.closeFromWorker();
        r.mod.hooks().disarm(Hook.CLEANER_BEFORE_CLEAR_RUNNING);
        Repro.awaitCleanerAsleep(fs);
        assertEquals(List.of(fh.ino()), fs.inspect().delayedIputs());
        return fh;
    }

    /** Without a role nothing changed: the first thread to arrive parks — here the remount, not the cleaner. */
    @Test
    void anUnrestrictedParkCatchesTheRemountThatGetsThereFirst() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            delayedIputLeftByTheCleaner(r, fs);
            List<Role> roles = rolesAt(r.mod, IPUT);
            r.mod.hooks().parkAt(IPUT);
            TestThread<Void> remount = TestThread.run("mount -o remount,ro", () -> fs.remount("ro"));
            r.mod.hooks().awaitParked(IPUT, Repro.WAIT);
            assertEquals(List.of(Role.USER), roles, "the remount, parked where the cleaner was expected");
            assertFalse(remount.done());
            r.mod.hooks().release(IPUT);
            remount.join();
            assertEquals(List.of(), fs.inspect().delayedIputs());
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /** The same remount with the park restricted to the cleaner: it runs through, and the arm waits for the cleaner. */
    @Test
    void aParkRestrictedToTheCleanerWaitsForTheCleanerAcrossARemount() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            delayedIputLeftByTheCleaner(r, fs);
            List<Role> roles = rolesAt(r.mod, IPUT);
            r.mod.hooks().parkAt(IPUT, Role.CLEANER);
            fs.remount("ro"); // passes the hook with the pending iput
            assertEquals(List.of(Role.USER), roles);
            assertEquals(0, r.mod.hooks().hits(IPUT));
            fs.remount("rw");
            fs.createFile("g");
            fs.open("g").closeFromWorker(); // queued; its wake-up is lost if the remount's wake has the cleaner mid-pass
            Repro.awaitCleanerParkedAt(r, fs, IPUT);
            assertEquals(List.of(Role.USER, Role.CLEANER), roles);
            r.mod.hooks().release(IPUT);
            Repro.awaitCleanerAsleep(fs);
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /** Every thread that reaches a hook says what it serves: the kthreads, the kworkers, the rescan worker, user tasks. */
    @Test
    void eachKindOfThreadArrivesWithItsRole() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            Map<Hook, Role> seen = new ConcurrentHashMap<>();
            r.mod.hooks().setListener(new HookListener() {
                @Override
                public void arrived(Hook h, Thread thread) { }

                @Override
                public void arrived(Hook h, Thread thread, Role role) { seen.putIfAbsent(h, role); }
            });
            fs.createFile("f");
            fs.open("f").closeFromWorker();          // a kworker queues the delayed iput, the cleaner runs it
            fs.runCleanerPass(Repro.WAIT);           // that pass over (and one more, woken explicitly)
            assertEquals(List.of(), fs.inspect().delayedIputs());
            fs.quotaEnable();                        // the rescan worker walks the extent tree
            fs.quotaRescanWait();
            fs.createFile("h");                      // a transaction the transaction kthread will find old
            r.clock.advance(31, TimeUnit.SECONDS);   // ... and commit on its own
            Waits.within(Repro.WAIT).until(() -> seen.containsKey(Hook.TRANS_KTHREAD_BEFORE_COMMIT));
            fs.remount("ro");
            fs.umount();
            assertEquals(Role.WORKER, seen.get(Hook.DELAYED_IPUT_ADDED));
            assertEquals(Role.CLEANER, seen.get(Hook.CLEANER_BEFORE_DELAYED_IPUT));
            assertEquals(Role.RESCAN_WORKER, seen.get(Hook.QGROUP_RESCAN_BEFORE_STATUS_UPDATE));
            assertEquals(Role.TRANSACTION_KTHREAD, seen.get(Hook.TRANS_KTHREAD_BEFORE_COMMIT));
            assertEquals(Role.USER, seen.get(Hook.REMOUNT_AFTER_SET_RO));
            assertEquals(Role.USER, seen.get(Hook.UMOUNT_START));
            assertTrue(r.mod.unload().clean());
        }
    }

    /**
     * With two filesystems in one module, every arrival of a kthread — the cleaner, the transaction kthread, btrfs-uuid —
     * says which device it serves ({@link WorkOwner}), from its first, while its mount is still running: a listener
     * watching several filesystems (the stress runner's) routes it by that. Regression (stop 59): only works carried
     * their device; the runner registered the cleaner and transaction kthreads after each mount returned, and the
     * btrfs-uuid kthread never, so their arrivals before that, and every uuid scan's, went to nobody's schedule.
     */
    @Test
    void withTwoFilesystemsEveryKthreadArrivalNamesTheDeviceItServes() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            BlockDevice sdd = r.mod.createDevice("sdd", 64L << 20);
            r.mod.mkfs(sdd);
            Map<Role, Set<String>> devices = new ConcurrentHashMap<>();
            List<String> nobodys = new CopyOnWriteArrayList<>();
            r.mod.hooks().setListener(new HookListener() {
                @Override
                public void arrived(Hook h, Thread thread) { }

                @Override
                public void arrived(Hook h, Thread thread, Role role) {
                    if (role == Role.CLEANER || role == Role.TRANSACTION_KTHREAD || role == Role.KTHREAD) {
                        String device = WorkOwner.device();
                        if (device == null) {
                            nobodys.add(h + " by " + thread.getName());
                        } else {
                            devices.computeIfAbsent(role, k -> ConcurrentHashMap.newKeySet()).add(device);
                        }
                    }
                }
            });
            Btrfs a = r.mount("rescan_uuid_tree");
            Btrfs b = r.mod.mount(sdd, "rescan_uuid_tree");
            a.waitForUuidScan(Repro.WAIT);
            b.waitForUuidScan(Repro.WAIT);
            a.umount();
            b.umount();
            Repro.awaitUuidKthreadsGone(r.mod);
            assertEquals(List.of(), nobodys, "kthread arrivals that named no device");
            assertEquals(Set.of("sdc", "sdd"), devices.get(Role.KTHREAD), "the btrfs-uuid kthreads' devices");
            assertTrue(devices.containsKey(Role.CLEANER) || devices.containsKey(Role.TRANSACTION_KTHREAD), devices.toString());
            assertTrue(r.mod.unload().clean());
        }
    }

    /**
     * A delay meant for the cleaner (an hour: the remount could never finish within the test's wait if it were
     * delayed) leaves the remount that runs the same btrfs_run_delayed_iputs alone.
     */
    @Test
    void aDelayForTheCleanerLeavesTheRemountAlone() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            delayedIputLeftByTheCleaner(r, fs);
            r.mod.hooks().arm(IPUT, HookAction.delay(TimeUnit.HOURS.toNanos(1)).onlyFor(Role.CLEANER), -1);
            TestThread.run("mount -o remount,ro", () -> fs.remount("ro")).join();
            assertEquals(List.of(), fs.inspect().delayedIputs());
            assertEquals(1, r.mod.hooks().arrivals(IPUT));
            assertEquals(0, r.mod.hooks().hits(IPUT));
            fs.umount();                             // RO: the cleaner never reaches the hook
            assertTrue(r.mod.unload().clean());
        }
    }
}
