package org.jbtrfs.core;

import org.jbtrfs.core.kernel.Kernel;

/** Kernel taint flags the port sets: the letters of "Tainted: G    B D W". */
public enum Taint {
    /** TAINT_BAD_PAGE: a memory-safety report (use-after-free, double free, slab leak at destroy). */
    BAD_PAGE('B'),
    /** TAINT_DIE: an oops or BUG killed a task. */
    DIE('D'),
    /** TAINT_WARN: a WARN_ON fired. */
    WARN('W'),
    /** TAINT_SOFTLOCKUP: the soft-lockup watchdog saw a CPU spin without scheduling. */
    SOFTLOCKUP('L');

    private final char letter;

    Taint(char letter) { this.letter = letter; }

    public char letter() { return letter; }
}
