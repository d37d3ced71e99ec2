package org.jbtrfs.differential.kernel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What the kernel target needs, checked before anything touches the kernel: Linux, root (effective uid
 * 0), loop devices (/dev/loop-control), btrfs in the kernel (/proc/filesystems) and btrfs-progs and
 * util-linux on PATH (mkfs.btrfs, btrfs, losetup, cp).
 */
public final class Prerequisites {
    /** Where the checks look; tests point it elsewhere. */
    record Host(String osName, Path procStatus, Path loopControl, Path procFilesystems, java.util.function.Predicate<String> onPath) {
        static Host real() {
            return new Host(System.getProperty("os.name"), Path.of("/proc/self/status"), Path.of("/dev/loop-control"),
                Path.of("/proc/filesystems"), Shell::onPath);
        }
    }

    private Prerequisites() { }

    /** Every missing prerequisite as a sentence; empty when the kernel target can run here. */
    public static List<String> missing() { return missing(Host.real()); }

    static List<String> missing(Host h) {
        List<String> out = new ArrayList<>();
        if (!h.osName().toLowerCase(Locale.ROOT).contains("linux")) {
            out.add("the kernel target needs Linux (this is " + h.osName() + ")");
            return out;
        }
        if (effectiveUid(h.procStatus()) != 0) {
            out.add("the kernel target needs root (mount(2), loop devices): run it as root, e.g. with sudo");
        }
        if (!Files.exists(h.loopControl())) {
            out.add("no loop devices: " + h.loopControl() + " is missing (modprobe loop, or a VM/container with loop devices)");
        }
        if (!btrfsInKernel(h.procFilesystems())) {
            out.add("btrfs is not in " + h.procFilesystems() + " (modprobe btrfs)");
        }
        List<String> progs = new ArrayList<>();
        for (String p : List.of("mkfs.btrfs", "btrfs")) {
            if (!h.onPath().test(p)) {
                progs.add(p);
            }
        }
        if (!progs.isEmpty()) {
            out.add("btrfs-progs is not installed (" + String.join(", ", progs) + " not on PATH): apt-get install -y btrfs-progs");
        }
        for (String p : List.of("losetup", "cp")) {
            if (!h.onPath().test(p)) {
                out.add(p + " is not on PATH (util-linux / coreutils)");
            }
        }
        return out;
    }

    /** The effective uid from /proc/self/status ("Uid: real effective saved fs"), or -1 if unreadable. */
    static int effectiveUid(Path status) {
        try {
            for (String l : Files.readAllLines(status)) {
                if (l.startsWith("Uid:")) {
                    return Integer.parseInt(l.substring(4).strip().split("\\s+")[1]);
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    private static boolean btrfsInKernel(Path filesystems) {
        try {
            return Files.readAllLines(filesystems).stream().anyMatch(l -> l.strip().endsWith("btrfs"));
        } catch (IOException e) {
            return false;
        }
    }
}
