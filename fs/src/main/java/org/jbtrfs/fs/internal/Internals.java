package org.jbtrfs.fs.internal;

import org.jbtrfs.core.kernel.Kernel;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.BtrfsModule;
import org.jbtrfs.transaction.FsInfo;

/**
 * The one door from jbtrfs's own tools (stress, bench, differential) to what lies below the API: a mounted
 * filesystem's {@link FsInfo} and a loaded module's {@link Kernel}. Not API: the architecture module's rules forbid
 * the junit module and consumers to use this package (docs/api.md). fs's own tests, in package org.jbtrfs.fs, call
 * the package-private {@code Btrfs.fsInfo()} and {@code BtrfsModule.kernel()} directly.
 *
 * <p>fs installs the door when {@link BtrfsModule} is initialised, which happens before any caller can hold a module
 * or a filesystem to pass in; the first door installed stays.
 */
public final class Internals {
    /** fs's side of the door: package-private accessors of org.jbtrfs.fs, reached from this package. */
    public interface Door {
        FsInfo fsInfo(Btrfs fs);

        Kernel kernel(BtrfsModule module);

        String debugState(BtrfsModule module);
    }

    private static volatile Door door;

    private Internals() { }

    /** Called once by fs (BtrfsModule's static initialiser); later calls are ignored. */
    public static synchronized void install(Door d) {
        if (door == null) {
            door = d;
        }
    }

    /** The fs_info shared by every mount of {@code fs}'s device. */
    public static FsInfo fsInfo(Btrfs fs) {
        return door().fsInfo(fs);
    }

    /** The loaded module's kernel context: config, log, slabs, kthreadd, sched, crc32c, panic. */
    public static Kernel kernel(BtrfsModule module) {
        return door().kernel(module);
    }

    /**
     * What a hang report adds to the threads' stacks: the module's workqueues (pool permits and tokens, each
     * sub-queue's pending, running and ordered works) and each mount's tree blocks under writeback.
     */
    public static String debugState(BtrfsModule module) {
        return door().debugState(module);
    }

    private static Door door() {
        Door d = door;
        if (d == null) {
            throw new IllegalStateException("org.jbtrfs.fs.BtrfsModule is not initialised: no module was loaded");
        }
        return d;
    }
}
