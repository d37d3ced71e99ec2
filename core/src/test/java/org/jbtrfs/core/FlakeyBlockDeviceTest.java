package org.jbtrfs.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class FlakeyBlockDeviceTest {
    private static byte[] bytes(int n, int v) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, (byte) v);
        return b;
    }

    private static byte[] read(BlockDevice dev, long off, int len) {
        byte[] b = new byte[len];
        dev.read(off, b, 0, len);
        return b;
    }

    @Test
    void passesEverythingThroughUntilTold() {
        MemoryBlockDevice disk = new MemoryBlockDevice("sdc", 1 << 20);
        FlakeyBlockDevice f = new FlakeyBlockDevice("flakey-sdc", disk);
        assertEquals(FlakeyBlockDevice.Mode.PASS, f.mode());
        assertEquals("flakey-sdc", f.name());
        assertEquals(disk.size(), f.size());
        f.write(4096, bytes(512, 1), 0, 512);
        f.flush();
        assertArrayEquals(bytes(512, 1), read(disk, 4096, 512));
        assertEquals(1, disk.counters().flushes());
        assertSame(disk, f.backing());
    }

    @Test
    void dropWritesDiscardsWritesAndFlushesButReportsSuccess() {
        MemoryBlockDevice disk = new MemoryBlockDevice("sdc", 1 << 20);
        FlakeyBlockDevice f = new FlakeyBlockDevice("flakey-sdc", disk);
        f.write(0, bytes(512, 1), 0, 512);
        f.dropWrites();
        f.write(0, bytes(512, 2), 0, 512);
        f.write(8192, bytes(512, 3), 0, 512);
        f.flush();
        // reads reach the disk: what was there at the "crash", nothing written since
        assertArrayEquals(bytes(512, 1), read(f, 0, 512));
        assertArrayEquals(new byte[512], read(f, 8192, 512));
        assertEquals(3, f.droppedWrites());
        assertEquals(1, disk.counters().writes());
        assertEquals(0, disk.counters().flushes());
        assertEquals(3, f.counters().writes(), "the filesystem's view: every write was issued");
        // switched back: writes land again
        f.allowWrites();
        f.write(0, bytes(512, 4), 0, 512);
        assertArrayEquals(bytes(512, 4), read(disk, 0, 512));
    }

    @Test
    void errorWritesFailsWritesAndFlushesWithEio() {
        MemoryBlockDevice disk = new MemoryBlockDevice("sdc", 1 << 20);
        FlakeyBlockDevice f = new FlakeyBlockDevice("flakey-sdc", disk);
        f.errorWrites();
        BtrfsException w = assertThrows(BtrfsException.class, () -> f.write(0, bytes(512, 1), 0, 512));
        assertEquals(Errno.EIO, w.errno());
        assertEquals(Errno.EIO, assertThrows(BtrfsException.class, f::flush).errno());
        assertEquals(2, f.failedWrites());
        assertArrayEquals(new byte[512], read(f, 0, 512), "reads still work");
        assertEquals(0, disk.counters().writes());
        f.allowWrites();
        f.write(0, bytes(512, 5), 0, 512);
        assertArrayEquals(bytes(512, 5), read(disk, 0, 512));
    }

    @Test
    void outOfRangeIsRefusedInEveryMode() {
        FlakeyBlockDevice f = new FlakeyBlockDevice("flakey-sdc", new MemoryBlockDevice("sdc", 4096));
        for (Runnable mode : new Runnable[] {f::allowWrites, f::dropWrites, f::errorWrites}) {
            mode.run();
            assertEquals(Errno.EIO, assertThrows(BtrfsException.class, () -> f.write(4000, new byte[512], 0, 512)).errno());
        }
        assertEquals(0, f.droppedWrites());
    }

    @Test
    void badArguments() {
        MemoryBlockDevice disk = new MemoryBlockDevice("sdc", 4096);
        assertThrows(IllegalArgumentException.class, () -> new FlakeyBlockDevice(" ", disk));
        assertThrows(IllegalArgumentException.class, () -> new FlakeyBlockDevice("f", null));
    }
}
