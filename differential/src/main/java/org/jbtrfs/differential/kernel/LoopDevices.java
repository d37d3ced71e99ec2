package org.jbtrfs.differential.kernel;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Loop devices through losetup, tracked by the backing file this harness created: it detaches only
 * loop devices whose backing file is one of its own, never anyone else's.
 */
final class LoopDevices {
    private LoopDevices() { }

    /** losetup --find --show FILE: a free loop device now backed by {@code file}. */
    static String attach(Path file) {
        return Shell.run("losetup", "--find", "--show", file.toString()).strip();
    }

    /** The loop devices backed by {@code file} (losetup -j). */
    static List<String> backedBy(Path file) {
        Shell.Result r = Shell.runAllowingFailure("losetup", "-j", file.toString());
        List<String> out = new ArrayList<>();
        if (r.exit() != 0) {
            return out;
        }
        for (String l : r.out().split("\n")) {
            int colon = l.indexOf(':');
            if (colon > 0 && l.startsWith("/dev/loop")) {
                out.add(l.substring(0, colon));
            }
        }
        return out;
    }

    /**
     * Forgets the btrfs device registration (so no stale fsid entry outlives the loop device) and detaches
     * every loop device backed by {@code file}. Errors are collected, not thrown: cleanup goes on.
     */
    static List<String> detachAll(Path file) {
        List<String> errors = new ArrayList<>();
        for (String dev : backedBy(file)) {
            Shell.runAllowingFailure("btrfs", "device", "scan", "--forget", dev);
            Shell.Result r = Shell.runAllowingFailure("losetup", "-d", dev);
            if (r.exit() != 0) {
                errors.add("losetup -d " + dev + ": " + r.err().strip());
            }
        }
        return errors;
    }
}
