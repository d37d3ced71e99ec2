package org.jbtrfs.transaction;

/** How a handle gets its transaction (TRANS_START, TRANS_JOIN, ...) and which commit states block it. */
public enum TransType {
    START, ATTACH, JOIN, JOIN_NOSTART, JOIN_NOLOCK;

    /** kernel: __TRANS_FREEZABLE — handles that hold sb_start_intwrite from start to end (or to their commit's end). */
    boolean isFreezable() {
        return this == START || this == JOIN; // TRANS_START and TRANS_JOIN carry __TRANS_FREEZABLE
    }

    /** kernel: TRANS_EXTWRITERS = __TRANS_START | __TRANS_ATTACH — handles a commit waits for in COMMIT_START. */
    boolean isExtwriter() {
        return this == START || this == ATTACH;
    }

    /**
     * kernel: the btrfs_blocked_trans_types table — RUNNING blocks nobody; COMMIT_START blocks START
     * and ATTACH; COMMIT_DOING also JOIN and JOIN_NOSTART; UNBLOCKED and COMPLETED block everything.
     */
    boolean blockedBy(TransState s) {
        return switch (s) {
            case RUNNING -> false;
            case COMMIT_START -> this == START || this == ATTACH;
            case COMMIT_DOING -> this != JOIN_NOLOCK;
            case UNBLOCKED, COMPLETED -> true;
        };
    }
}
