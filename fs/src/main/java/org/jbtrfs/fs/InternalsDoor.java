package org.jbtrfs.fs;

import org.jbtrfs.core.kernel.Kernel;
import org.jbtrfs.fs.internal.Internals;
import org.jbtrfs.transaction.FsInfo;

/** fs's side of {@link Internals}: the package-private accessors, for the tools that need internals. */
final class InternalsDoor implements Internals.Door {
    static final InternalsDoor INSTANCE = new InternalsDoor();

    private InternalsDoor() { }

    @Override public FsInfo fsInfo(Btrfs fs) { return fs.fsInfo(); }

    @Override public Kernel kernel(BtrfsModule module) { return module.kernel(); }

    @Override public String debugState(BtrfsModule module) {
        StringBuilder sb = new StringBuilder(module.workerPool().debugState());
        module.liveFilesystems().forEach((dev, fs) -> {
            sb.append('\n').append(dev).append(": ").append(fs.btreeInode.writebackState());
            sb.append('\n').append(dev).append(": ").append(fs.space.reservations.debugState(fs.asyncReclaim().busy()))
                .append("; ").append(fs.space.reservations.dataDebugState(fs.asyncDataReclaim().busy()));
            org.jbtrfs.transaction.QgroupHooks q = fs.qgroupHooks();
            if (q != null && !q.debugState().isEmpty()) {
                sb.append('\n').append(dev).append(": ").append(q.debugState());
            }
        });
        return sb.toString();
    }
}
