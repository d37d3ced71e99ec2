/**
 * The copy-on-write B-tree of btrfs (kernel: fs/btrfs/ctree.c, the extent_buffer accessors, parts
 * of fs/btrfs/tree-checker.c).
 *
 * <ul>
 *   <li>{@link org.jbtrfs.transaction.ctree.ExtentBuffer}: one tree block in its on-disk layout.</li>
 *   <li>{@link org.jbtrfs.transaction.ctree.Ctree}: search, insert, delete, update; read-only
 *       lookups and walks of any root (live or commit root).</li>
 *   <li>{@link org.jbtrfs.transaction.ctree.TreeBlockManager} and
 *       {@link org.jbtrfs.transaction.ctree.TreeRoot}: what the tree needs from the transaction layer.</li>
 *   <li>{@link org.jbtrfs.transaction.ctree.TreeChecker}: block and whole-tree consistency checks.</li>
 * </ul>
 *
 * <p>Concurrency: none inside this package. The kernel's per-block tree locks are not ported;
 * callers serialize every access to one tree (modifying or reading its live root). Reading a commit
 * root while the live tree is modified is safe because COW never changes a block that was written.
 *
 * <p>Contract with the manager: one {@code ExtentBuffer} instance per live block (changes are made
 * through it, as through the btree inode's pages), and a block allocated or COWed in the running
 * transaction is not COWed again until it has been written.
 */
package org.jbtrfs.transaction.ctree;
