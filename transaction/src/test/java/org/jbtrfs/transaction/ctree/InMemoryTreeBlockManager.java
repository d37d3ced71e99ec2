package org.jbtrfs.transaction.ctree;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import org.jbtrfs.core.kernel.AcceleratedCrc32c;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.kernel.Crc32c;
import org.jbtrfs.core.Errno;

/**
 * A test TreeBlockManager: a map bytenr → bytes as the "disk", a buffer cache standing in for the
 * btree inode's pages, a bump allocator (blocks are never reused, so freed blocks stay readable for
 * snapshot checks), and commits that write every dirty block (WRITTEN flag + checksum) and start
 * the next transaction.
 *
 * <p>It also polices the B-tree's side of the contract: dirtying a block that was not COWed in this
 * transaction, touching a freed block, freeing twice, or handing in a buffer that is not the cached
 * instance all fail the test.
 */
final class InMemoryTreeBlockManager implements TreeBlockManager {
    static final byte[] FSID = filled(0x5a, ExtentBuffer.FSID_SIZE);
    static final byte[] CHUNK_TREE_UUID = filled(0xc3, ExtentBuffer.UUID_SIZE);
    private static final long FIRST_BYTENR = 1L << 22;

    private final Crc32c crc = AcceleratedCrc32c.INSTANCE;
    private final Map<Long, byte[]> disk = new HashMap<>();
    private final Map<Long, ExtentBuffer> cache = new HashMap<>();
    private final Set<Long> dirty = new HashSet<>();
    private final Set<Long> allocated = new HashSet<>();
    private final Set<Long> freed = new HashSet<>();
    /** Freed in the running transaction: still readable until the commit (kernel: pinned extents). */
    private final Set<Long> pinned = new HashSet<>();
    /** Keep freed blocks on disk after the commit that unpins them (for reading old roots); else drop them to save memory. */
    private final boolean retainFreedBlocks;
    private long nextBytenr = FIRST_BYTENR;
    private long transid = 1;

    long allocCount;
    long freeCount;
    long diskReads;

    InMemoryTreeBlockManager() {
        this(true);
    }

    InMemoryTreeBlockManager(boolean retainFreedBlocks) {
        this.retainFreedBlocks = retainFreedBlocks;
    }

    private static byte[] filled(int value, int len) {
        byte[] b = new byte[len];
        Arrays.fill(b, (byte) value);
        return b;
    }

    @Override
    public ExtentBuffer read(long bytenr) {
        ExtentBuffer eb = cache.get(bytenr);
        if (eb != null) {
            return eb;
        }
        byte[] bytes = disk.get(bytenr);
        if (bytes == null) {
            throw new BtrfsException(Errno.EIO, "no tree block at bytenr " + bytenr);
        }
        eb = new ExtentBuffer(bytes.clone());
        eb.validate(crc, bytenr);
        diskReads++;
        cache.put(bytenr, eb);
        return eb;
    }

    @Override
    public boolean shouldCow(ExtentBuffer eb) {
        checkLive(eb, "shouldCow");
        return !(eb.generation() == transid && !eb.isWritten());
    }

    @Override
    public ExtentBuffer allocTreeBlock(long owner, int level) {
        long bytenr = nextBytenr;
        nextBytenr += ExtentBuffer.NODESIZE;
        ExtentBuffer eb = ExtentBuffer.zeroed(bytenr);
        eb.setFsid(FSID);
        eb.setChunkTreeUuid(CHUNK_TREE_UUID);
        eb.setGeneration(transid);
        eb.setOwner(owner);
        eb.setLevel(level);
        eb.setNritems(0);
        cache.put(bytenr, eb);
        allocated.add(bytenr);
        dirty.add(bytenr);
        allocCount++;
        return eb;
    }

    @Override
    public void freeTreeBlock(ExtentBuffer eb) {
        checkLive(eb, "freeTreeBlock");
        if (!allocated.contains(eb.bytenr())) {
            throw new AssertionError("freeing a block never allocated: " + eb);
        }
        freed.add(eb.bytenr());
        pinned.add(eb.bytenr());
        // clean_tree_block(): a freed block is never written.
        dirty.remove(eb.bytenr());
        freeCount++;
    }

    @Override
    public void markDirty(ExtentBuffer eb) {
        checkLive(eb, "markDirty");
        if (eb.generation() != transid || eb.isWritten()) {
            throw new AssertionError("dirtying a block not COWed in transaction " + transid + ": " + eb);
        }
        dirty.add(eb.bytenr());
    }

    @Override
    public long transid() {
        return transid;
    }

    private void checkLive(ExtentBuffer eb, String op) {
        if (freed.contains(eb.bytenr())) {
            throw new AssertionError(op + " on freed block " + eb);
        }
        if (cache.get(eb.bytenr()) != eb) {
            throw new AssertionError(op + " on a buffer that is not the cached instance: " + eb);
        }
    }

    /**
     * Commits the running transaction: writes every dirty block (sets WRITTEN, checksums it, stores
     * a copy on disk), unpins the blocks freed in it, and starts the next transaction.
     *
     * @return the number of blocks written
     */
    int commit() {
        int written = 0;
        for (long bytenr : dirty) {
            ExtentBuffer eb = cache.get(bytenr);
            eb.setHeaderFlag(ExtentBuffer.HEADER_FLAG_WRITTEN);
            eb.updateChecksum(crc);
            disk.put(bytenr, eb.array().clone());
            written++;
        }
        dirty.clear();
        for (long bytenr : pinned) {
            cache.remove(bytenr);
            if (!retainFreedBlocks) {
                disk.remove(bytenr);
            }
        }
        pinned.clear();
        transid++;
        return written;
    }

    /** Forgets every cached buffer, so the next reads come from disk and are checksum-verified. */
    void dropCache() {
        if (!dirty.isEmpty()) {
            throw new AssertionError("dropping the cache with " + dirty.size() + " dirty blocks");
        }
        cache.clear();
    }

    /** Flips one bit of a block on disk. */
    void corruptOnDisk(long bytenr, int offset) {
        disk.get(bytenr)[offset] ^= 0x01;
    }

    /** A copy of the block as last written. */
    byte[] diskBytes(long bytenr) {
        return disk.get(bytenr).clone();
    }

    Crc32c crc() {
        return crc;
    }

    int dirtyCount() {
        return dirty.size();
    }

    Set<Long> freedBlocks() {
        return Set.copyOf(freed);
    }

    /** Every block reachable from {@code rootNode}. */
    Set<Long> reachable(ExtentBuffer rootNode) {
        Set<Long> seen = new HashSet<>();
        Deque<ExtentBuffer> todo = new ArrayDeque<>();
        todo.push(rootNode);
        while (!todo.isEmpty()) {
            ExtentBuffer eb = todo.pop();
            seen.add(eb.bytenr());
            if (!eb.isLeaf()) {
                for (int slot = 0; slot < eb.nritems(); slot++) {
                    todo.push(read(eb.blockPtr(slot)));
                }
            }
        }
        return seen;
    }

    /**
     * Every block ever allocated is either still in the tree or was freed, never both: nothing the
     * tree replaced or unlinked escaped freeTreeBlock (assumes a single tree in this manager).
     */
    void assertAccounted(ExtentBuffer rootNode) {
        Set<Long> live = reachable(rootNode);
        for (long bytenr : live) {
            if (freed.contains(bytenr)) {
                throw new AssertionError("block " + bytenr + " is in the tree but was freed");
            }
        }
        Set<Long> leaked = new HashSet<>(allocated);
        leaked.removeAll(live);
        leaked.removeAll(freed);
        if (!leaked.isEmpty()) {
            throw new AssertionError(leaked.size() + " blocks left the tree without freeTreeBlock: " + leaked);
        }
    }
}
