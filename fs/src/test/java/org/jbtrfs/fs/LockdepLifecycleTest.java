package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.kernel.Lockdep;
import org.junit.jupiter.api.Test;

/**
 * The port's lock order under lockdep ({@code KernelConfig.lockdep(true)}): a whole lifecycle — write and fsync,
 * subvolumes, quotas, freeze and thaw, RO and RW remounts, umount — records the kernel's dependencies and no cycle.
 */
class LockdepLifecycleTest {

    @Test
    void aLifecycleRecordsTheKernelsOrderAndNoCycle() {
        try (Repro r = new Repro(c -> c.lockdep(true))) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("f");
            fs.writeFile("f", new byte[5000]);
            try (FileHandle h = fs.open("f")) {
                h.fsync();
            }
            fs.createSubvolume("sv");
            fs.createFile("sv/g");
            fs.writeFile("sv/g", new byte[100]);
            fs.quotaEnable();
            fs.sync();
            fs.freeze();
            fs.thaw();
            fs.deleteSubvolume("sv");
            fs.quotaDisable();
            fs.remount("ro");
            fs.remount("rw");
            fs.runCleanerPass(Repro.WAIT);
            fs.umount();
            Lockdep ld = r.mod.kernel().lockdep();
            List<String> deps = ld.dependencies();
            assertFalse(ld.reported(), ld.report());
            // close_ctree under s_umount: btrfs_commit_super takes cleaner_mutex
            assertTrue(deps.contains("&type->s_umount_key -> &fs_info->cleaner_mutex"), deps.toString());
            // a write: file_start_write (sb_writers), then inode_lock
            assertTrue(deps.contains("sb_writers -> &sb->s_type->i_mutex_key"), deps.toString());
            // freeze_super re-takes s_umount holding SB_FREEZE_WRITE, then the next levels under both
            assertTrue(deps.contains("sb_writers -> &type->s_umount_key"), deps.toString());
            assertTrue(deps.contains("sb_pagefaults -> sb_internal"), deps.toString());
        }
    }
}
