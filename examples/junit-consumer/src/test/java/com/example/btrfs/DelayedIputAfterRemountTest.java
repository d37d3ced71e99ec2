package com.example.btrfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.jbtrfs.core.KernelBug;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.FileHandle;
import org.jbtrfs.junit.BtrfsTest;
import org.jbtrfs.junit.ExpectKernelSymptoms;
import org.jbtrfs.junit.KernelSymptom;
import org.jbtrfs.junit.KernelSymptoms;
import org.junit.jupiter.api.Test;

/**
 * A test that provokes kernel symptoms on purpose and says so: the last reference to a file dropped from a
 * worker just after a remount RO committed queues a delayed iput that the read-only cleaner never runs, and
 * close_ctree's assertion fires at umount — with every fix applied (5.11 behaves the same).
 */
@BtrfsTest
class DelayedIputAfterRemountTest {
    @Test
    @ExpectKernelSymptoms({KernelSymptom.DELAYED_IPUTS_ASSERT, KernelSymptom.SLAB_LEAK})
    void aDelayedIputQueuedAfterTheRemountRoCommitHitsTheAssertionAtUmount(Btrfs fs, KernelSymptoms symptoms) {
        fs.createFile("f");
        FileHandle fh = fs.open("f");
        fs.module().hooks().arm(Hook.REMOUNT_AFTER_COMMIT_SUPER, HookAction.run(fh::closeFromWorker));
        fs.remount("ro");
        assertEquals(1, fs.inspect().delayedIputs().size(), "queued after the remount's last btrfs_run_delayed_iputs");

        KernelBug bug = assertThrows(KernelBug.class, fs::umount);
        assertTrue(bug.getMessage().contains("list_empty(&fs_info->delayed_iputs)"), bug.getMessage());
        assertTrue(symptoms.observed().contains(KernelSymptom.DELAYED_IPUTS_ASSERT));
        // the inode is never freed: rmmod reports it (SLAB_LEAK), after the test, where the extension checks it
    }
}
