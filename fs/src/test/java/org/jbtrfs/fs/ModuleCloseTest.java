package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.junit.jupiter.api.Test;

/** {@link BtrfsModule#close()} cleans up whatever a test left, and says what went wrong instead of swallowing it. */
class ModuleCloseTest {

    @Test
    void aFailedUmountDuringCloseIsLoggedAndReported() {
        try (BtrfsModule mod = BtrfsModule.load()) {
            var dev = mod.createDevice("sdc", 64L << 20);
            mod.mkfs(dev);
            Btrfs fs = mod.mount(dev, "");
            fs.createFile("f");
            fs.open("f"); // left open: umount refuses with EBUSY

            mod.close(); // the subject; the try-with-resources close after it is a no-op

            assertTrue(!mod.isLoaded());
            UnloadReport rep = mod.lastUnloadReport();
            assertEquals(1, rep.cleanupErrors().size());
            BtrfsException e = assertInstanceOf(BtrfsException.class, rep.cleanupErrors().get(0));
            assertEquals(Errno.EBUSY, e.errno());
            assertTrue(mod.log().contains("module close: umount of sdc failed"), mod.log().dmesg());
            assertTrue(rep.remaining("btrfs_inode") > 0, "the filesystem was never closed: its open inode is reported");
        }
    }
}
