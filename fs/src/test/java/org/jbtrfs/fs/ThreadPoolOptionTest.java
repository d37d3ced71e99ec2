package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.workqueue.BtrfsWorkqueue;
import org.jbtrfs.workqueue.FsWorkqueues;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The thread_pool=N mount option (v5.11 super.c): btrfs_parse_options' Opt_thread_pool ("thread_pool=%u", match_int),
 * open_ctree's btrfs_init_workqueues sizing the queues from it, and btrfs_remount's btrfs_resize_thread_pool — after
 * the options, and back on the restore label — with btrfs_workqueue_set_max on the queues 5.11 lists.
 */
class ThreadPoolOptionTest {
    private Repro r;

    @BeforeEach
    void load() { r = new Repro(Crc32cImpl.GENERIC); }

    @AfterEach
    void unload() { r.closeCheckingNoKthreadSurvives(); }

    private static FsWorkqueues wq(Btrfs fs) { return fs.fsInfo().workqueues(); }

    /** The queues btrfs_resize_thread_pool resizes (5.11's list, the scrub's aside). */
    private static BtrfsWorkqueue[] resized(FsWorkqueues w) {
        return new BtrfsWorkqueue[] {w.workers, w.delallocWorkers, w.cachingWorkers, w.endioWorkers, w.endioMetaWorkers,
            w.endioMetaWriteWorkers, w.endioWriteWorkers, w.endioFreespaceWorker, w.delayedWorkers, w.readaheadWorkers};
    }

    private static void assertLimits(Btrfs fs, int expected) {
        for (BtrfsWorkqueue q : resized(wq(fs))) {
            assertEquals(expected, q.limitActive(), q.name());
        }
        assertEquals(1, wq(fs).fixupWorkers.limitActive(), "pinned to 1 at allocation, not resized");
        assertEquals(1, wq(fs).qgroupRescanWorkers.limitActive(), "pinned to 1 at allocation, not resized");
    }

    @Test
    void aMountSizesTheWorkqueuesFromIt() {
        Btrfs fs = r.mount("thread_pool=2");
        assertEquals(2, fs.fsInfo().threadPoolSize());
        assertLimits(fs, 2);
        fs.createFile("a");
        fs.writeFile("a", new byte[64 * 1024]);
        fs.sync();
        fs.umount();
        Btrfs again = r.mount("thread_pool=0x3");
        assertEquals(3, again.fsInfo().threadPoolSize(), "%u is simple_strtoul with base 0: 0x is hex");
        again.umount();
        Btrfs octal = r.mount("thread_pool=010");
        assertEquals(8, octal.fsInfo().threadPoolSize(), "and a leading 0 octal");
        octal.umount();
        Btrfs plain = r.mount("");
        assertEquals(FsWorkqueues.defaultThreadPoolSize(), plain.fsInfo().threadPoolSize(), "min(online CPUs + 2, 8)");
        plain.umount();
    }

    /** 0 is EINVAL and a value beyond INT_MAX ERANGE (no message in 5.11); a token %u does not match is unrecognized. */
    @Test
    void badValuesAreRefusedAndTheModuleStaysUsable() {
        assertErrno(Errno.EINVAL, "invalid value 0 for thread_pool", () -> r.mount("thread_pool=0"));
        assertErrno(Errno.ERANGE, "thread_pool", () -> r.mount("thread_pool=4294967296"));
        for (String bad : new String[] {"thread_pool=-1", "thread_pool=abc", "thread_pool=", "thread_pool=4k", "thread_pool=08"}) {
            assertErrno(Errno.EINVAL, "unrecognized mount option '" + bad + "'", () -> r.mount(bad));
            assertTrue(r.logged("unrecognized mount option '" + bad + "'"), r.mod.log().dmesg());
        }
        Btrfs fs = r.mount("");
        int before = fs.fsInfo().threadPoolSize();
        assertErrno(Errno.EINVAL, "invalid value 0 for thread_pool", () -> fs.remount("thread_pool=0"));
        assertEquals(before, fs.fsInfo().threadPoolSize(), "a failed remount keeps the size");
        assertLimits(fs, before);
        fs.createFile("after");
        fs.umount();
    }

    @Test
    void aRemountResizesTheQueuesAndSaysSo() {
        Btrfs fs = r.mount("");
        int old = fs.fsInfo().threadPoolSize();
        fs.remount("thread_pool=1");
        assertTrue(r.logged("BTRFS info (device sdc): resize thread pool " + old + " -> 1"), r.mod.log().dmesg());
        assertEquals(1, fs.fsInfo().threadPoolSize());
        assertLimits(fs, 1);
        int resizes = resizeLines();
        fs.remount("thread_pool=1,commit=5");
        assertEquals(resizes, resizeLines(), "the same size: btrfs_resize_thread_pool returns at once");
        // the filesystem works on one kworker per queue: writeback, its ordered extents, a commit
        fs.createFile("one");
        fs.writeFile("one", new byte[256 * 1024]);
        fs.sync();
        fs.remount("ro,thread_pool=3");
        assertLimits(fs, 3);
        fs.remount("rw");
        fs.umount();
        assertTrue(r.mod.unload().clean());
    }

    /**
     * The restore label: an RO→RW remount refused after an abort has already resized the queues (btrfs_remount_begin,
     * btrfs_resize_thread_pool, then the RW checks); restore resizes them back, and says so.
     */
    @Test
    void aRemountThatFailsAfterTheResizeResizesBack() {
        Btrfs fs = r.mount("");
        int old = fs.fsInfo().threadPoolSize();
        fs.createFile("a");
        r.mod.faults().armOnce(Fault.COMMIT_TRANSACTION_EIO);
        assertThrows(BtrfsException.class, fs::sync);
        assertTrue(fs.isReadOnly(), "forced readonly");
        assertErrno(Errno.EINVAL, "Remounting read-write after error is not allowed", () -> fs.remount("rw,thread_pool=1"));
        assertTrue(r.logged("resize thread pool " + old + " -> 1"), r.mod.log().dmesg());
        assertTrue(r.logged("resize thread pool 1 -> " + old), r.mod.log().dmesg());
        assertEquals(old, fs.fsInfo().threadPoolSize());
        assertLimits(fs, old);
        fs.umount();
    }

    private int resizeLines() { return r.mod.log().matching(e -> e.message().contains("resize thread pool")).size(); }

    private static void assertErrno(Errno errno, String text, org.junit.jupiter.api.function.Executable call) {
        BtrfsException e = assertThrows(BtrfsException.class, call);
        assertEquals(errno, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains(text), e.getMessage());
    }
}
