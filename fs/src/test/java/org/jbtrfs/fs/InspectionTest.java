package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.fs.Inspection.BlockGroupType;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.Test;

/** What {@link Btrfs#inspect()} shows beyond transactions: space, delayed iputs, kthreads, who waits on what. */
class InspectionTest {

    @Test
    void blockGroupsSpaceInfosAndTheUnusedList() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            CleanerRoRemountRaceTest.makeOneUnusedBlockGroup(fs);
            Inspection in = fs.inspect();
            assertEquals(1, in.unusedBlockGroups().size(), in.blockGroups().toString());
            var unused = in.blockGroups().stream().filter(b -> b.unused()).findFirst().orElseThrow();
            assertEquals(BlockGroupType.DATA, unused.type());
            assertEquals(0, unused.used());
            assertTrue(in.blockGroups().stream().anyMatch(b -> b.type() == BlockGroupType.METADATA && b.used() > 0));
            assertTrue(in.spaceInfos().get(BlockGroupType.METADATA).used() > 0);
            assertEquals(in.blockGroups().stream().filter(b -> b.type() == BlockGroupType.DATA).mapToLong(b -> b.length()).sum(),
                in.spaceInfos().get(BlockGroupType.DATA).total());
            fs.umount();
        }
    }

    @Test
    void kthreadsAndDelayedIputsWithTheirSubvolume() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            // the cleaner sets TASK_INTERRUPTIBLE before the scheduler records its sleep, and a wake-up after the mount
            // (the transaction kthread's) can start one more pass: wait for an inspection that shows it asleep (a
            // clean-clone CI run once read the state between the two steps)
            java.util.concurrent.atomic.AtomicReference<Inspection> seen = new java.util.concurrent.atomic.AtomicReference<>();
            org.jbtrfs.testsupport.Waits.within(Repro.WAIT).until(() -> {
                Inspection in = fs.inspect();
                seen.set(in);
                return "schedule() in INTERRUPTIBLE".equals(in.blockedOn().get("btrfs-cleaner"));
            });
            Inspection idle = seen.get();
            assertEquals(List.of("btrfs-cleaner", "btrfs-transaction"), idle.kthreads().stream().map(Inspection.KthreadInfo::name).toList());
            assertEquals(Inspection.TaskState.INTERRUPTIBLE, idle.kthreads().get(0).state());
            // a delayed iput queued while the cleaner is mid-pass (no wake-up for it)
            long sv = fs.createSubvolume("sv");
            fs.createFile("sv/f");
            FileHandle fh = fs.open("sv/f");
            r.mod.hooks().parkAt(Hook.CLEANER_BEFORE_CLEAR_RUNNING);
            Repro.wakeCleaner(fs);
            r.mod.hooks().awaitParked(Hook.CLEANER_BEFORE_CLEAR_RUNNING, Repro.WAIT);
            fh.closeFromWorker();
            assertEquals(List.of(new Inspection.DelayedIput(sv, fh.ino())), fs.inspect().delayedIputInodes());
            assertEquals("parked at a hook", fs.inspect().blockedOn().get("btrfs-cleaner"));
            r.mod.hooks().release(Hook.CLEANER_BEFORE_CLEAR_RUNNING);
            fs.runCleanerPass(Repro.WAIT);
            assertTrue(fs.inspect().delayedIputInodes().isEmpty());
            fs.umount();
        }
    }

    @Test
    void whatABlockedRemountWaitsOn() {
        // patch 3/5 applied: the remount waits on the bit; reverted: on cleaner_mutex in btrfs_commit_super
        for (boolean applied : new boolean[] {true, false}) {
            FixSwitch[] reverted = applied ? new FixSwitch[0] : new FixSwitch[] {FixSwitch.CLEANER_RO_REMOUNT_RACE};
            try (Repro r = new Repro(Crc32cImpl.ACCELERATED, reverted)) {
                Btrfs fs = r.mountSettled("");
                fs.createFile("f");
                FileHandle fh = fs.open("f");
                Repro.awaitCleanerAsleep(fs);
                r.mod.hooks().parkAt(Hook.CLEANER_BEFORE_DELAYED_IPUT);
                fh.closeFromWorker(); // btrfs_add_delayed_iput wakes the sleeping cleaner, which runs it under cleaner_mutex
                r.mod.hooks().awaitParked(Hook.CLEANER_BEFORE_DELAYED_IPUT, Repro.WAIT);
                TestThread<Void> remount = TestThread.run("mount -o remount,ro", () -> fs.remount("ro"));
                String expected = applied ? "wait_on_bit(CLEANER_RUNNING)" : "mutex_lock(cleaner_mutex) held by btrfs-cleaner";
                Waits.within(Repro.WAIT).until(() -> expected.equals(fs.inspect().blockedOn().get("mount -o remount,ro")));
                r.mod.hooks().release(Hook.CLEANER_BEFORE_DELAYED_IPUT);
                remount.join();
                fs.umount();
            }
        }
    }

    @Test
    void afterUmountTheRootTreeIsReadFromTheDevice() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            long id = DeadRootsBeforeOrphanCleanupTest.pendingDeletion(r); // mounts, deletes with a file open, umounts
            Btrfs ro = r.mount("ro");
            ro.umount();
            Inspection after = ro.inspect();
            assertEquals(List.of(id), after.rootOrphans(), "the pending deletion, as committed");
            assertEquals(Map.of(5L, 1, id, 0), after.rootItems());
            assertFalse(after.flags().contains(org.jbtrfs.core.FsFlag.OPEN));
        }
    }

    /**
     * {@link Inspection#committedReadOnly()}: a read-only filesystem writes nothing, so the lifecycle's own commits —
     * the RO remount's btrfs_commit_super, the RW remount's btrfs_start_pre_rw_mount, the commits of a read-write
     * mount — are not on it, and sync(2), fsync and a cleaner pass on a read-only filesystem commit nothing. (The one
     * way the port commits there with every fix reverted is FsyncRoRemountRaceTest's.)
     */
    @Test
    void theLifecyclesOwnCommitsAreNoWritesWhileReadOnly() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("f");
            fs.writeFile("f", new byte[] {1});
            fs.sync();
            assertEquals(List.of(), fs.inspect().committedReadOnly(), "read-write: nothing is recorded");
            fs.writeFile("f", new byte[] {2}); // dirty: the RO remount's sync_filesystem commits it
            long before = fs.inspect().generation();
            fs.remount("ro");
            Inspection ro = fs.inspect();
            assertTrue(ro.generation() > before, "the RO remount committed");
            assertEquals(List.of(), ro.committedReadOnly(), "the RO remount's own commits");
            fs.sync();
            try (FileHandle h = fs.open("f", OpenMode.READ_ONLY)) {
                h.fsync();
            }
            fs.runCleanerPass(java.time.Duration.ofSeconds(10)); // a wake-up and the end of its pass
            assertEquals(ro.generation(), fs.inspect().generation(), "sync, fsync and a cleaner pass write nothing");
            assertEquals(List.of(), fs.inspect().committedReadOnly());
            fs.remount("rw");
            fs.writeFile("f", new byte[] {3});
            fs.sync();
            assertEquals(List.of(), fs.inspect().committedReadOnly(), "the RW remount's commits and later ones");
            fs.umount();
            Btrfs rom = r.mod.mount(r.dev, "ro");
            assertEquals(List.of(), rom.inspect().committedReadOnly(), "an RO mount commits nothing");
            rom.umount();
        }
    }
}
