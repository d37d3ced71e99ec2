package org.jbtrfs.core;

import org.jbtrfs.core.kernel.Kernel;

/**
 * The module's kernel panicked ({@link Kernel#panic}): every uninterruptible sleep of that module ends
 * with this, the way a hung machine is rebooted. Nothing after a panic is kernel behaviour any more; the
 * module can only be unloaded, which reports what leaked.
 */
public class KernelPanic extends RuntimeException {
    public KernelPanic(String message) { super("Kernel panic - not syncing: " + message); }
}
