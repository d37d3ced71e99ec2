package org.jbtrfs.bench;

import org.jbtrfs.fs.BtrfsModule;
import org.jbtrfs.fs.UnloadReport;

/**
 * The one teardown check every benchmark that loads a module uses: a trial whose module does not
 * unload clean (a slab or state leak, a thread still alive, a WARNING or other taint in the kernel
 * log) fails instead of reporting a figure, and no thread of it survives into the next trial.
 */
public final class Modules {
    private Modules() { }

    /** Unloads {@code mod} (rmmod) and throws with the kernel log if anything leaked or tainted. */
    public static void unloadClean(BtrfsModule mod) {
        UnloadReport r = mod.unload();
        if (!r.clean() || !r.taints().isEmpty()) {
            throw new IllegalStateException("benchmark module did not unload clean: " + r.slabLeaks() + " "
                + r.stateLeaks() + " threads alive " + r.threadsAlive() + " taints " + r.taints() + "\n" + mod.log().dmesg());
        }
    }
}
