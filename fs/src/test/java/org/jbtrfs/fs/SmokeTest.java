package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.*;

import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.KernelConfig;
import org.junit.jupiter.api.Test;

class SmokeTest {
    @Test
    void mountCreateUnlinkRemountUmount() {
        try (BtrfsModule mod = BtrfsModule.load(KernelConfig.defaults())) {
            BlockDevice dev = mod.createDevice("sdc", 256L << 20);
            mod.mkfs(dev);
            Btrfs fs = mod.mount(dev, "");
            fs.createFile("a");
            fs.writeFile("a", new byte[10000]);
            assertEquals(10000, fs.fileSize("a"));
            fs.unlink("a");
            fs.remount("ro");
            fs.umount();
            Btrfs fs2 = mod.mount(dev, "");
            assertTrue(fs2.list("").isEmpty());
            fs2.createFile("b");
            fs2.umount();
            Btrfs fs3 = mod.mount(dev, "ro");
            assertEquals(java.util.List.of("b"), fs3.list(""));
            fs3.umount();
            UnloadReport r = mod.unload();
            System.out.println(mod.log().dmesg());
            assertTrue(r.clean(), r.toString());
            assertFalse(mod.log().tainted(), mod.log().dmesg());
        }
    }
}
