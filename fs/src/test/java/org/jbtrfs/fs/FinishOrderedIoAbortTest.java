package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicBoolean;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.jbtrfs.fs.tools.Check;
import org.junit.jupiter.api.Test;

/**
 * Port bug (stop 69, class {@code 8653fa3e}, btrfs check's FILE_EXTENT_DISCOUNT under the {@code alloc-tree-block-enospc}
 * fault): 5.11's {@code btrfs_finish_ordered_io} aborts the transaction on any error after its join —
 * {@code insert_ordered_extent_file_extent} (the {@code btrfs_drop_extents} of the range, the item's insert),
 * {@code add_pending_csums}, {@code btrfs_update_inode_fallback}; the port aborted only once the item was in, so a failed
 * drop or insert went up unaborted and the next commit wrote the range without its extent item. Kernel functions read
 * (5.11): inode.c {@code btrfs_finish_ordered_io}, {@code insert_reserved_file_extent}; file.c {@code btrfs_drop_extents}.
 * Fails on the code before the fix (the filesystem stays writable).
 */
class FinishOrderedIoAbortTest {

    @Test
    void aFinishWhoseFirstCowFailsAbortsTheTransaction() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            fs.sync(); // the tree's leaf on disk: the finish's drop of the range COWs it
            fs.writeFile("a", new byte[4096]);
            AtomicBoolean armed = new AtomicBoolean();
            r.mod.hooks().arm(Hook.ORDERED_EXTENT_BEFORE_FINISH, HookAction.run(() -> {
                if (armed.compareAndSet(false, true)) {
                    r.mod.faults().armOnce(Fault.ALLOC_TREE_BLOCK_ENOSPC);
                }
            }));
            assertThrows(BtrfsException.class, fs::sync, "the writeback error (or the aborted commit)");
            assertTrue(fs.inspect().state().contains(FsState.TRANS_ABORTED), r.mod.log().dmesg());
            assertTrue(fs.isReadOnly(), "btrfs_abort_transaction: forced readonly");
            assertTrue(r.logged("Transaction aborted (error ENOSPC"), r.mod.log().dmesg());
            fs.umount();
            Check.Report rep = Check.check(r.dev, Crc32cImpl.ACCELERATED);
            assertTrue(rep.clean(), rep.toString());
        }
    }
}
