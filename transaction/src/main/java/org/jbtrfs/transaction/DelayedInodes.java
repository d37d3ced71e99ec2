package org.jbtrfs.transaction;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.kernel.Mutex;
import org.jbtrfs.workqueue.BtrfsWork;

/**
 * A filesystem's delayed root: fs/btrfs/delayed-inode.c (5.11). btrfs_update_inode does not write an inode item into
 * its tree; it copies the in-memory inode into the inode's delayed node and marks it dirty. A directory entry's
 * DIR_INDEX item is queued there too (insertions and deletions; a deletion of an index still queued for insertion
 * cancels it). Every queued item counts in {@code delayed_root->items}. The items reach the trees in one of two ways:
 * the transaction commit runs all of them (btrfs_run_delayed_items, before and after it waits for the writers), or,
 * once {@value #BACKGROUND} are queued, the next btrfs_btree_balance_dirty of an operation queues a work on the
 * delayed-meta workqueue that joins a transaction and writes prepared nodes one by one
 * (btrfs_async_run_delayed_root); at {@value #WRITEBACK} the operation also waits for the works to catch up.
 *
 * <p>That work tests the count, takes a node, and only then joins a transaction ({@link Hook#DELAYED_WORKER_BEFORE_JOIN}):
 * a commit in between writes the node's items itself, and the join creates the next transaction for a node with
 * nothing left to write. close_ctree flushes the delayed-meta workqueue before its btrfs_commit_super for that reason
 * ("they can create a transaction"); an RO remount does not.
 *
 * <p>Where the port differs: a node lives while it has items or a caller holds it (the kernel's in-memory inode also
 * keeps a reference until it is evicted — only memory); items are written one at a time rather than in batches of
 * adjacent keys; space reservations (delayed_block_rsv) are not modelled.
 */
public final class DelayedInodes {
    /** BTRFS_DELAYED_WRITEBACK: from this many queued items an operation waits for the async works. */
    public static final int WRITEBACK = 512;
    /** BTRFS_DELAYED_BACKGROUND: from this many queued items an operation queues an async work. */
    public static final int BACKGROUND = 128;
    /** BTRFS_DELAYED_BATCH: the nodes one queued work writes when fewer than {@link #WRITEBACK} are queued. */
    public static final int BATCH = 16;

    private final FsInfo fs;
    /** delayed_root->lock, and the wait queue delayed_root->wait. */
    private final Object lock = new Object();
    /** root->delayed_nodes_tree of every root. */
    private final Map<NodeKey, Node> nodes = new HashMap<>();
    /** delayed_root->node_list: every node with items, in the order they were first queued. */
    private final LinkedHashSet<Node> nodeList = new LinkedHashSet<>();
    /** delayed_root->prepare_list: the nodes an async work may take. */
    private final LinkedHashSet<Node> prepareList = new LinkedHashSet<>();
    /** delayed_root->items. */
    private final AtomicInteger items = new AtomicInteger();
    /** delayed_root->items_seq: one more for every item written. */
    private final AtomicInteger itemsSeq = new AtomicInteger();

    DelayedInodes(FsInfo fs) { this.fs = fs; }

    private record NodeKey(long root, long ino) { }

    /** struct btrfs_delayed_node. Its fields are guarded by {@link #mutex}; refs and the list bits by the root's lock. */
    private static final class Node {
        final Root root;
        final long ino;
        final Mutex mutex;
        /** The inode item to write (BTRFS_DELAYED_NODE_INODE_DIRTY when not null). */
        byte[] inodeItem;
        /** ins_root: DIR_INDEX items to insert, by index. */
        final TreeMap<Long, byte[]> insertions = new TreeMap<>();
        /** del_root: DIR_INDEX items to delete, by index. */
        final TreeSet<Long> deletions = new TreeSet<>();
        /** index_cnt: one past the highest DIR_INDEX queued for insertion, 0 if none was. */
        long indexCnt;
        /** count: the node's items. */
        int count;
        /** refs: the lists' reference and every holder's. */
        int refs;
        boolean inList;

        Node(Root root, long ino, org.jbtrfs.core.kernel.Lockdep lockdep) {
            this.root = root;
            this.ino = ino;
            this.mutex = new Mutex("delayed_node->mutex", lockdep, "&delayed_node->mutex");
        }
    }

    /** delayed_root->items: the items queued and not yet written. */
    public int items() { return items.get(); }

    // ---- queueing ---------------------------------------------------------------------------------------------

    /**
     * kernel: btrfs_delayed_update_inode() — queue {@code item} as the inode item of {@code ino} in {@code root}: a
     * node already dirty gets the newer copy, a clean one becomes dirty and counts one item.
     */
    public void updateInode(Root root, long ino, byte[] item) {
        Node n = getOrCreate(root, ino);
        n.mutex.lock();
        try {
            if (n.inodeItem == null) {
                n.count++;
                items.incrementAndGet();
            }
            n.inodeItem = item.clone();
        } finally {
            n.mutex.unlock();
            release(n, false);
        }
    }

    /**
     * kernel: btrfs_insert_delayed_dir_index() — queue the DIR_INDEX item {@code index} of directory {@code dir}.
     *
     * @throws BtrfsException EEXIST if that index is already queued (the kernel's "err add delayed dir index item")
     */
    public void insertDirIndex(Root root, long dir, long index, byte[] entry) {
        Node n = getOrCreate(root, dir);
        n.mutex.lock();
        try {
            if (n.insertions.containsKey(index)) {
                throw new BtrfsException(Errno.EEXIST, "err add delayed dir index item(index: " + index + ") into the insertion tree"
                    + " of the delayed node(root id: " + root.objectid() + ", inode id: " + dir + ")");
            }
            n.insertions.put(index, entry.clone());
            n.indexCnt = Math.max(n.indexCnt, index + 1);
            n.count++;
            items.incrementAndGet();
        } finally {
            n.mutex.unlock();
            release(n, false);
        }
    }

    /**
     * kernel: btrfs_delete_delayed_dir_index() — an index still queued for insertion is taken off (one item fewer);
     * otherwise its deletion is queued.
     */
    public void deleteDirIndex(Root root, long dir, long index) {
        Node n = getOrCreate(root, dir);
        n.mutex.lock();
        try {
            if (n.insertions.remove(index) != null) {
                n.count--;
                finishOneItem();
            } else if (n.deletions.add(index)) {
                n.count++;
                items.incrementAndGet();
            }
        } finally {
            n.mutex.unlock();
            release(n, false);
        }
    }

    // ---- reading ----------------------------------------------------------------------------------------------

    /**
     * kernel: btrfs_read_locked_inode()'s item — the copy queued in the delayed node (btrfs_fill_inode), else the
     * tree's; null if neither has one.
     */
    public byte[] readInodeItem(Root root, long ino) {
        byte[] item = inodeItem(root, ino);
        return item != null ? item : Trees.lookup(fs, root, new Key(ino, ItemType.INODE_ITEM, 0));
    }

    /** kernel: btrfs_fill_inode() — the inode item queued for {@code ino}, or null: read it from the tree. */
    public byte[] inodeItem(Root root, long ino) {
        Node n = get(root, ino);
        if (n == null) {
            return null;
        }
        n.mutex.lock();
        try {
            return n.inodeItem == null ? null : n.inodeItem.clone();
        } finally {
            n.mutex.unlock();
            release(n, false);
        }
    }

    /**
     * kernel: btrfs_inode_delayed_dir_index_count() — one past the highest DIR_INDEX of {@code dir} queued for
     * insertion, or -1 (-EINVAL) if none: search the tree.
     */
    public long dirIndexCount(Root root, long dir) {
        Node n = get(root, dir);
        if (n == null) {
            return -1;
        }
        n.mutex.lock();
        try {
            return n.indexCnt == 0 ? -1 : n.indexCnt;
        } finally {
            n.mutex.unlock();
            release(n, false);
        }
    }

    // ---- writing ----------------------------------------------------------------------------------------------

    /**
     * kernel: btrfs_run_delayed_items() — write every queued item in {@code h}'s transaction, node after node in
     * node_list order (the commit's two passes). A failure aborts the transaction, as the kernel's.
     */
    public void runDelayedItems(TransHandle h) {
        Node cur = first(false);
        while (cur != null) {
            try {
                commitNode(h, cur);
            } catch (BtrfsException e) {
                release(cur, false);
                Transactions.abort(h, "__btrfs_run_delayed_items", e);
                throw e;
            }
            Node next = next(cur);
            release(cur, false);
            cur = next;
        }
    }

    /**
     * kernel: btrfs_commit_inode_delayed_inode() — btrfs_evict_inode's first step for an unlinked inode: if its inode
     * item is still queued, join a transaction, write it, end.
     */
    public void commitInodeDelayedInode(Root root, long ino) {
        Node n = get(root, ino);
        if (n == null) {
            return;
        }
        try {
            n.mutex.lock();
            try {
                if (n.inodeItem == null) {
                    return;
                }
            } finally {
                n.mutex.unlock();
            }
            TransHandle h = Transactions.join(fs, root, "btrfs_commit_inode_delayed_inode");
            try {
                n.mutex.lock();
                try {
                    writeInodeItem(h, n);
                } finally {
                    n.mutex.unlock();
                }
            } finally {
                Transactions.end(h);
            }
        } finally {
            release(n, false);
        }
    }

    /**
     * kernel: btrfs_kill_all_delayed_nodes() — a deleted subvolume about to be dropped (btrfs_clean_one_deleted_snapshot):
     * whatever is still queued for its tree is thrown away.
     */
    public void killAllDelayedNodes(Root root) {
        dropAll(n -> n.root.objectid() == root.objectid());
    }

    /** kernel: btrfs_destroy_delayed_inodes() — an aborted transaction's cleanup: every queued item is thrown away. */
    public void destroyDelayedInodes() {
        dropAll(n -> true);
    }

    /** Throws away the items of every node {@code which} selects, each node held meanwhile. */
    private void dropAll(java.util.function.Predicate<Node> which) {
        List<Node> held = new ArrayList<>();
        synchronized (lock) {
            for (Node n : nodes.values()) {
                if (which.test(n)) {
                    n.refs++;
                    held.add(n);
                }
            }
        }
        for (Node n : held) {
            dropItems(n);
            release(n, false);
        }
    }

    private void dropItems(Node n) {
        n.mutex.lock();
        try {
            int dropped = n.insertions.size() + n.deletions.size() + (n.inodeItem == null ? 0 : 1);
            n.insertions.clear();
            n.deletions.clear();
            n.inodeItem = null;
            n.count -= dropped;
            for (int i = 0; i < dropped; i++) {
                finishOneItem();
            }
        } finally {
            n.mutex.unlock();
        }
    }

    /** kernel: __btrfs_commit_inode_delayed_items() — insertions, then deletions, then the inode item. */
    private void commitNode(TransHandle h, Node n) {
        n.mutex.lock();
        try {
            for (Iterator<Map.Entry<Long, byte[]>> it = n.insertions.entrySet().iterator(); it.hasNext(); ) {
                Map.Entry<Long, byte[]> e = it.next();
                Trees.insert(h, n.root, new Key(n.ino, ItemType.DIR_INDEX, e.getKey()), e.getValue());
                it.remove();
                n.count--;
                finishOneItem();
            }
            for (Iterator<Long> it = n.deletions.iterator(); it.hasNext(); ) {
                long index = it.next();
                Key k = new Key(n.ino, ItemType.DIR_INDEX, index);
                // btrfs_batch_delete_items: an item already gone is not an error
                if (Trees.lookup(fs, n.root, k) != null) {
                    Trees.delete(h, n.root, k);
                }
                it.remove();
                n.count--;
                finishOneItem();
            }
            writeInodeItem(h, n);
        } finally {
            n.mutex.unlock();
        }
    }

    /**
     * kernel: __btrfs_update_delayed_inode() — the inode item into its tree. Caller holds the node's mutex.
     *
     * <p>5.11's {@code btrfs_lookup_inode} failure (its COW's -ENOSPC, or -ENOENT) returns before
     * {@code btrfs_release_delayed_inode}: the item stays queued, no abort here, and the next writer of the node (the
     * commit's btrfs_run_delayed_items, which aborts if it fails too) writes it. Once the lookup succeeded nothing can
     * fail. (v5.14's bb385bedded3 "fix error handling in __btrfs_update_delayed_inode" releases it on that path and
     * 04587ad9bef6 aborts instead: either way nothing half-done reaches the disk.) Stop 70, port bug, class
     * {@code 3606723c}: the port released the item before the write, so an eviction whose
     * btrfs_commit_inode_delayed_inode failed (goto no_delete) lost the unlink's nlink 0 and the next commit kept the
     * tree's nlink 1 with the INODE_REF and dir entries gone.
     */
    private void writeInodeItem(TransHandle h, Node n) {
        byte[] item = n.inodeItem;
        if (item == null) {
            return;
        }
        Trees.update(h, n.root, new Key(n.ino, ItemType.INODE_ITEM, 0), item);
        n.inodeItem = null; // btrfs_release_delayed_inode
        n.count--;
        finishOneItem();
    }

    /** kernel: finish_one_item() — one item fewer; wake the waiters below BACKGROUND or every BATCH items. */
    private void finishOneItem() {
        int seq = itemsSeq.incrementAndGet();
        if (items.decrementAndGet() < BACKGROUND || seq % BATCH == 0) {
            synchronized (lock) {
                lock.notifyAll();
            }
        }
    }

    // ---- the async works ----------------------------------------------------------------------------------------

    /**
     * kernel: btrfs_balance_delayed_items() (from btrfs_btree_balance_dirty, at the end of an operation): from
     * {@value #BACKGROUND} queued items queue a work writing {@value #BATCH} nodes; from {@value #WRITEBACK} queue one
     * writing up to {@value #WRITEBACK} and wait (interruptibly) until {@value #BATCH} items were written or fewer
     * than {@value #BACKGROUND} are left. Nothing if the workqueue is congested.
     */
    public void balance() {
        int n = items.get();
        if (n < BACKGROUND || fs.workqueues().delayedWorkers.normalCongested()) {
            return;
        }
        if (n >= WRITEBACK) {
            int seq = itemsSeq.get();
            queueWork(0);
            synchronized (lock) {
                fs.kernel.sched().waitUntilInterruptible(lock, "btrfs_balance_delayed_items", () -> couldEndWait(seq));
            }
            return;
        }
        queueWork(BATCH);
    }

    /** kernel: could_end_wait(). */
    private boolean couldEndWait(int seq) {
        int val = itemsSeq.get();
        return val < seq || val >= seq + BATCH || items.get() < BACKGROUND;
    }

    /** kernel: btrfs_wq_run_delayed_node() — queue btrfs_async_run_delayed_root on fs_info->delayed_workers. */
    private void queueWork(int nr) {
        fs.workqueues().delayedWorkers.queueWork(new BtrfsWork(() -> asyncRunDelayedRoot(nr)));
    }

    /**
     * kernel: btrfs_async_run_delayed_root() — while at least half of BACKGROUND items are queued: take the first
     * prepared node, join a transaction, write the node's items, end the handle; {@code nr} nodes, or up to
     * WRITEBACK when 0. Then wake the waiters of btrfs_balance_delayed_items.
     */
    private void asyncRunDelayedRoot(int nr) {
        int done = 0;
        try {
            do {
                if (items.get() < BACKGROUND / 2) {
                    break;
                }
                Node n = first(true);
                if (n == null) {
                    break;
                }
                fs.kernel.hooks().arrive(Hook.DELAYED_WORKER_BEFORE_JOIN);
                TransHandle h;
                try {
                    h = Transactions.join(fs, n.root, "btrfs_async_run_delayed_root");
                } catch (BtrfsException e) {
                    release(n, true);
                    done++;
                    continue;
                }
                fs.kernel.hooks().arrive(Hook.DELAYED_WORKER_AFTER_JOIN);
                try {
                    asyncCommitNode(h, n);
                } finally {
                    Transactions.end(h);
                    release(n, true);
                }
                done++;
            } while ((nr == 0 && done < WRITEBACK) || done < nr);
        } finally {
            synchronized (lock) {
                lock.notifyAll();
            }
        }
    }

    /**
     * btrfs_async_run_delayed_root's __btrfs_commit_inode_delayed_items: 5.11 ignores its return — no abort, the items
     * it could not write stay queued for the commit's btrfs_run_delayed_items (stop 70: the port aborted).
     */
    private void asyncCommitNode(TransHandle h, Node n) {
        try {
            commitNode(h, n);
        } catch (BtrfsException e) {
            // ignored, as the kernel's
        }
    }

    /** The async worker's step for the node of {@code ino} in {@code root}, in {@code h} (DelayedInodeUpdateFailureTest). */
    void commitNodeAsTheAsyncWorkerDoes(TransHandle h, Root root, long ino) {
        Node n = get(root, ino);
        if (n != null) {
            try {
                asyncCommitNode(h, n);
            } finally {
                release(n, true);
            }
        }
    }

    // ---- nodes and lists ---------------------------------------------------------------------------------------

    /** kernel: btrfs_get_or_create_delayed_node() — the node, held. */
    private Node getOrCreate(Root root, long ino) {
        synchronized (lock) {
            Node n = nodes.computeIfAbsent(new NodeKey(root.objectid(), ino), k -> new Node(root, ino, fs.kernel.lockdep()));
            n.refs++;
            return n;
        }
    }

    /** kernel: btrfs_get_delayed_node() — the node if there is one, held. */
    private Node get(Root root, long ino) {
        synchronized (lock) {
            Node n = nodes.get(new NodeKey(root.objectid(), ino));
            if (n != null) {
                n.refs++;
            }
            return n;
        }
    }

    /**
     * kernel: btrfs_first_delayed_node() (node_list) or btrfs_first_prepared_delayed_node() (prepare_list, which it
     * leaves), held.
     */
    private Node first(boolean prepared) {
        synchronized (lock) {
            Iterator<Node> it = (prepared ? prepareList : nodeList).iterator();
            if (!it.hasNext()) {
                return null;
            }
            Node n = it.next();
            if (prepared) {
                it.remove();
            }
            n.refs++;
            return n;
        }
    }

    /** kernel: btrfs_next_delayed_node() — the node after {@code n} in node_list, held. */
    private Node next(Node n) {
        synchronized (lock) {
            boolean after = false;
            for (Node m : nodeList) {
                if (after) {
                    m.refs++;
                    return m;
                }
                after = m == n;
            }
            if (!after) {
                // n left the list meanwhile: start again from the first
                Iterator<Node> it = nodeList.iterator();
                if (it.hasNext()) {
                    Node m = it.next();
                    m.refs++;
                    return m;
                }
            }
            return null;
        }
    }

    /**
     * kernel: __btrfs_release_delayed_node() — a node with items is queued (btrfs_queue_delayed_node: on both lists
     * if new, else moved to the prepare list's tail, or put back on it when {@code mod}: a work is done with it);
     * an empty one leaves both lists (btrfs_dequeue_delayed_node); then the holder's reference goes, and the node
     * with it when it was the last.
     */
    private void release(Node n, boolean mod) {
        n.mutex.lock();
        try {
            synchronized (lock) {
                if (n.count > 0) {
                    if (n.inList) {
                        if (prepareList.remove(n) || mod) {
                            prepareList.add(n);
                        }
                    } else {
                        nodeList.add(n);
                        prepareList.add(n);
                        n.inList = true;
                        n.refs++;
                    }
                } else if (n.inList) {
                    nodeList.remove(n);
                    prepareList.remove(n);
                    n.inList = false;
                    n.refs--;
                }
            }
        } finally {
            n.mutex.unlock();
        }
        synchronized (lock) {
            if (--n.refs == 0) {
                nodes.remove(new NodeKey(n.root.objectid(), n.ino), n);
            }
        }
    }
}
