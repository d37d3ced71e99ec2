package org.jbtrfs.transaction;

/**
 * fs_info->exclusive_operation (5.11's enum btrfs_exclusive_operation): one of balance, device add/remove, resize, swap
 * activation or dev-replace at a time, taken with a cmpxchg from NONE (btrfs_exclop_start) and given back by
 * btrfs_exclop_finish. The port has balance and dev-replace.
 */
public final class ExclusiveOperation {
    /** The operations the port has (BTRFS_EXCLOP_*). */
    public enum Op { NONE, BALANCE, DEV_REPLACE }

    private Op current = Op.NONE;

    /** kernel: btrfs_exclop_start() — false when another operation holds it. */
    public synchronized boolean start(Op op) {
        if (op == Op.NONE) {
            throw new IllegalArgumentException("op must not be NONE");
        }
        if (current != Op.NONE) {
            return false;
        }
        current = op;
        return true;
    }

    /** kernel: btrfs_exclop_finish(). */
    public synchronized void finish() { current = Op.NONE; }
}
