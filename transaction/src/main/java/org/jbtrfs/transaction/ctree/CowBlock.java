package org.jbtrfs.transaction.ctree;

import org.jbtrfs.core.Hook;

/** Copy-on-write of one tree block (kernel: btrfs_cow_block() and __btrfs_cow_block() in fs/btrfs/ctree.c). */
final class CowBlock {
    private CowBlock() { }

    /**
     * kernel: btrfs_cow_block() in fs/btrfs/ctree.c — returns a block of this transaction that may be
     * modified in place of {@code buf}: {@code buf} itself when it was created in this transaction
     * and not written yet, otherwise a fresh copy that replaces it in {@code parent} (or as the root).
     *
     * @param parent     the (already COWed) block pointing at {@code buf}, or null when {@code buf} is the root
     * @param parentSlot {@code buf}'s slot in {@code parent}
     */
    static ExtentBuffer cow(TreeBlockManager mgr, TreeRoot root, ExtentBuffer buf, ExtentBuffer parent, int parentSlot) {
        mgr.checkCow(root);
        if (!mgr.shouldCow(buf)) {
            return buf;
        }
        return copyBlock(mgr, root, buf, parent, parentSlot);
    }

    /** kernel: __btrfs_cow_block() in fs/btrfs/ctree.c. */
    private static ExtentBuffer copyBlock(TreeBlockManager mgr, TreeRoot root, ExtentBuffer buf, ExtentBuffer parent, int parentSlot) {
        long owner = root.objectid();
        ExtentBuffer cow = mgr.allocTreeBlock(owner, buf.level());
        // The manager stamped the new block's identity; the copy below overwrites the whole header,
        // so keep what must stay the new block's own and re-apply it afterwards.
        long bytenr = cow.bytenr();
        byte[] fsid = cow.fsid();
        byte[] chunkTreeUuid = cow.chunkTreeUuid();

        cow.copyContentsFrom(buf);
        mgr.arrive(Hook.COW_BLOCK_COPIED);
        cow.setBytenr(bytenr);
        cow.setGeneration(mgr.transid());
        // The copy has not been written, and is not a relocation block even if the source was.
        cow.clearHeaderFlag(ExtentBuffer.HEADER_FLAG_WRITTEN | ExtentBuffer.HEADER_FLAG_RELOC);
        cow.setOwner(owner);
        cow.setFsid(fsid);
        cow.setChunkTreeUuid(chunkTreeUuid);

        if (parent == null) {
            if (root.node().bytenr() != buf.bytenr()) {
                throw new IllegalStateException("COW of " + buf + " without a parent, but the root is " + root.node());
            }
            root.setNode(cow);
        } else {
            parent.setBlockPtr(parentSlot, bytenr);
            parent.setPtrGeneration(parentSlot, mgr.transid());
            mgr.markDirty(parent);
        }
        // The old block stays readable (a commit root or snapshot may still point at it) until the
        // transaction that freed it commits: the manager pins it.
        mgr.freeTreeBlock(buf);
        mgr.markDirty(cow);
        return cow;
    }
}
