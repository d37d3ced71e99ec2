package org.jbtrfs.differential.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrerequisitesTest {
    @TempDir
    Path dir;

    private Prerequisites.Host host(int euid, boolean loop, boolean btrfs, List<String> onPath) throws IOException {
        Path status = Files.writeString(dir.resolve("status"), "Name:\tjava\nUid:\t1000\t" + euid + "\t" + euid + "\t" + euid + "\n");
        Path loopControl = dir.resolve("loop-control");
        if (loop) {
            Files.writeString(loopControl, "");
        }
        Path fs = Files.writeString(dir.resolve("filesystems"), "nodev\tproc\n\text4\n" + (btrfs ? "\tbtrfs\n" : ""));
        return new Prerequisites.Host("Linux", status, loopControl, fs, onPath::contains);
    }

    @Test
    void everythingPresentMeansNothingMissing() throws IOException {
        assertEquals(List.of(), Prerequisites.missing(host(0, true, true, List.of("mkfs.btrfs", "btrfs", "losetup", "cp"))));
    }

    @Test
    void eachMissingPrerequisiteIsNamed() throws IOException {
        List<String> m = Prerequisites.missing(host(1000, false, false, List.of("losetup", "cp")));
        assertEquals(4, m.size(), m.toString());
        assertTrue(m.get(0).startsWith("the kernel target needs root"), m.get(0));
        assertTrue(m.get(1).startsWith("no loop devices"), m.get(1));
        assertTrue(m.get(2).startsWith("btrfs is not in"), m.get(2));
        assertEquals("btrfs-progs is not installed (mkfs.btrfs, btrfs not on PATH): apt-get install -y btrfs-progs", m.get(3));
    }

    @Test
    void notLinux() {
        assertEquals(List.of("the kernel target needs Linux (this is Mac OS X)"),
            Prerequisites.missing(new Prerequisites.Host("Mac OS X", dir, dir, dir, p -> true)));
    }
}
