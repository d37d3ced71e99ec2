package org.jbtrfs.transaction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * 5.11's abort of a handle that changed nothing (fs/btrfs/super.c {@code __btrfs_abort_transaction}, ctree.h
 * {@code btrfs_abort_transaction}): "Nothing used. The other threads that have joined this transaction may be able to
 * continue." The macro sets BTRFS_FS_STATE_TRANS_ABORTED, the handle gets {@code trans->aborted}; unless the handle is
 * dirty ({@code trans->dirty}: ctree.c {@code btrfs_cow_block} / {@code btrfs_search_slot} when no COW is needed,
 * extent-tree.c {@code btrfs_init_new_buffer}, transaction.c {@code btrfs_commit_transaction}) or created block groups
 * ({@code trans->new_bgs}), that is all: "Aborting unused transaction(...)" is logged, the transaction and the filesystem
 * go on — until the next commit finds the flag with no earlier transaction listed and fails -EROFS
 * ({@code btrfs_commit_transaction}, "to prevent writing a new superblock that reflects a corrupt state"), aborting for
 * real. Kernel functions read: super.c {@code __btrfs_abort_transaction}, {@code btrfs_decode_error}; ctree.h
 * {@code btrfs_abort_transaction}; transaction.c {@code btrfs_commit_transaction}, {@code __btrfs_end_transaction};
 * block-group.c {@code btrfs_create_pending_block_groups}, {@code btrfs_make_block_group}.
 *
 * <p>Stop 69, port divergence: the port's abort took a transaction and always aborted it — the filesystem went
 * read-only at once, with the abort's errno instead of the next commit's -EROFS. The first test fails on that code.
 * That is what v5.14 does ({@link FixSwitch#ABORT_UNUSED_TRANS_HANDLE}, "btrfs: always abort the transaction if we
 * abort a trans handle"): the 5.11 behaviour is the switch reverted; the last test is the fix's direction.
 */
class UnusedTransactionAbortTest {
    private final TestFs t = new TestFs(Crc32cImpl.ACCELERATED, FixSwitch.ABORT_UNUSED_TRANS_HANDLE);

    @AfterEach
    void unload() { t.close(); }

    @Test
    void anAbortOfAHandleThatChangedNothingLeavesTheTransactionToTheNextCommit() {
        FsInfo fs = t.open();
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test_unused");
        Transaction cur = h.transaction();
        assertFalse(Transactions.abort(h, "test_unused", new BtrfsException(Errno.ENOSPC, "injected")),
            "an unused handle aborts only itself");
        assertEquals(Errno.ENOSPC, h.aborted(), "trans->aborted of the handle");
        assertFalse(cur.aborted, "the transaction runs on");
        assertTrue(fs.fsState.test(FsState.TRANS_ABORTED), "the macro's test_and_set_bit comes first");
        assertFalse(fs.fsState.test(FsState.ERROR), "no __btrfs_handle_fs_error");
        assertFalse(fs.sbRdonly(), "still writable");
        assertTrue(t.kernel.log().dmesg().contains("test_unused: Aborting unused transaction(No space left)."),
            t.kernel.log().dmesg());
        Transactions.end(h);

        // another handle of the same transaction changes a tree: the other threads "may be able to continue"
        TransHandle h2 = Transactions.start(fs, fs.fsRoot(), 1, "test_after");
        assertEquals(cur, h2.transaction());
        Trees.insert(h2, fs.fsRoot(), TestFs.key(1), TestFs.data(1, "after"));
        assertNull(h2.aborted());
        // its commit: no earlier transaction on trans_list and BTRFS_FS_STATE_TRANS_ABORTED set — -EROFS, a real abort
        BtrfsException e = assertThrows(BtrfsException.class, () -> Transactions.commit(h2));
        assertEquals(Errno.EROFS, e.errno(), e.getMessage());
        assertTrue(cur.aborted, "cleanup_transaction aborted it (the committing handle is dirty)");
        assertTrue(fs.fsState.test(FsState.ERROR));
        assertTrue(fs.sbRdonly(), "forced readonly by the commit's abort, not by the first one");
        t.closeTail(fs);
    }

    @Test
    void aHandleThatChangedATreeAbortsTheTransaction() {
        FsInfo fs = t.open();
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test_dirty");
        Trees.insert(h, fs.fsRoot(), TestFs.key(2), TestFs.data(2, "dirty"));
        assertTrue(Transactions.abort(h, "test_dirty", new BtrfsException(Errno.EIO, "injected")));
        assertTrue(h.transaction().aborted);
        assertEquals(Errno.EIO, h.transaction().abortErrno);
        assertTrue(fs.sbRdonly());
        assertFalse(t.kernel.log().dmesg().contains("Aborting unused transaction"), t.kernel.log().dmesg());
        Transactions.end(h);
        t.closeTail(fs);
    }

    @Test
    void aHandleThatOnlyCreatedABlockGroupAbortsTheTransaction() {
        FsInfo fs = t.open();
        TransHandle h = Transactions.join(fs, fs.extentRoot(), "test_chunk");
        assertTrue(fs.space.allocMetadataChunk(true, h.newBgs), "a forced chunk: on the handle's new_bgs");
        assertFalse(h.dirty, "no tree block touched yet");
        assertTrue(Transactions.abort(h, "test_chunk", new BtrfsException(Errno.ENOSPC, "injected")),
            "list_empty(&trans->new_bgs) is false: the transaction aborts");
        assertTrue(h.transaction().aborted);
        Transactions.end(h);
        t.closeTail(fs);
    }

    /** The fix applied: the handle changed nothing, the transaction aborts all the same and the filesystem goes read-only. */
    @Test
    void withTheFixAnUnusedHandlesAbortAbortsTheTransaction() {
        try (TestFs fixed = new TestFs()) {
            FsInfo fs = fixed.open();
            TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test_unused");
            assertTrue(Transactions.abort(h, "test_unused", new BtrfsException(Errno.ENOSPC, "injected")));
            assertEquals(Errno.ENOSPC, h.aborted());
            assertTrue(h.transaction().aborted);
            assertTrue(fs.sbRdonly(), "forced readonly at once");
            assertFalse(fixed.kernel.log().dmesg().contains("Aborting unused transaction"), fixed.kernel.log().dmesg());
            Transactions.end(h);
            fixed.closeTail(fs);
        }
    }

    /** btrfs_decode_error(): the strings the kernel logs; an errno it does not list is "unknown". */
    @Test
    void decodeErrorNamesTheErrnosTheKernelLists() {
        assertEquals("No such entry", Transactions.decodeError(Errno.ENOENT));
        assertEquals("IO failure", Transactions.decodeError(Errno.EIO));
        assertEquals("Out of memory", Transactions.decodeError(Errno.ENOMEM));
        assertEquals("Object already exists", Transactions.decodeError(Errno.EEXIST));
        assertEquals("No space left", Transactions.decodeError(Errno.ENOSPC));
        assertEquals("Readonly filesystem", Transactions.decodeError(Errno.EROFS));
        assertEquals("Operation not supported", Transactions.decodeError(Errno.EOPNOTSUPP));
        assertEquals("Filesystem corrupted", Transactions.decodeError(Errno.EUCLEAN));
        assertEquals("unknown", Transactions.decodeError(Errno.EBUSY));
    }
}
