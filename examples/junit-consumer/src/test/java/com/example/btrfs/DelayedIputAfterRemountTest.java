package com.example.btrfs;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelBug;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.junit.BtrfsTest;
import org.jbtrfs.junit.ExpectKernelSymptoms;
import org.jbtrfs.junit.KernelSymptom;
import org.jbtrfs.junit.KernelSymptoms;
import org.junit.jupiter.api.Test;

/**
 * A test that provokes kernel symptoms on purpose and says so: a closed file's dirty data is written by the
 * RO remount's own sync_filesystem; the endio-write worker completing its ordered extent drops the file's
 * last reference only after btrfs_wait_ordered_roots returned — here held there until the remount committed —
 * so the delayed iput is queued after the remount's last btrfs_run_delayed_iputs, the read-only cleaner never
 * runs it, and close_ctree's assertion fires at umount. That is 5.11 with every patch of the series; later
 * kernels run delayed iputs in close_ctree (the fix switch reverted here).
 */
@BtrfsTest(revert = FixSwitch.ENDIO_WRITE_FLUSH_AT_UMOUNT)
class DelayedIputAfterRemountTest {
    @Test
    @ExpectKernelSymptoms({KernelSymptom.DELAYED_IPUTS_ASSERT, KernelSymptom.SLAB_LEAK})
    void aDelayedIputQueuedAfterTheRemountRoCommitHitsTheAssertionAtUmount(Btrfs fs, KernelSymptoms symptoms) throws Exception {
        fs.createFile("f");
        fs.writeFile("f", new byte[4096]);                  // dirty; closed again at once
        fs.module().hooks().parkAt(Hook.ORDERED_EXTENT_AFTER_REMOVE);
        CompletableFuture<Void> remount = CompletableFuture.runAsync(() -> fs.remount("ro"));
        fs.module().hooks().awaitParked(Hook.ORDERED_EXTENT_AFTER_REMOVE, Duration.ofSeconds(30));
        remount.get(30, TimeUnit.SECONDS);                  // the extent is complete: the remount went on
        fs.module().hooks().release(Hook.ORDERED_EXTENT_AFTER_REMOVE); // the worker's last put:
        // ... and its btrfs_add_delayed_iput queues the inode after the remount's last btrfs_run_delayed_iputs
        await().atMost(Duration.ofSeconds(30)).until(() -> fs.inspect().delayedIputs().size() == 1);

        KernelBug bug = assertThrows(KernelBug.class, fs::umount);
        assertTrue(bug.getMessage().contains("list_empty(&fs_info->delayed_iputs)"), bug.getMessage());
        assertTrue(symptoms.observed().contains(KernelSymptom.DELAYED_IPUTS_ASSERT));
        // the inode is never freed: rmmod reports it (SLAB_LEAK), after the test, where the extension checks it
    }
}
