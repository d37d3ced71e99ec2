package org.jbtrfs.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlockDeviceTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    private static byte[] read(BlockDevice dev, long offset, int len) {
        byte[] b = new byte[len];
        dev.read(offset, b, 0, len);
        return b;
    }

    /** The contract both implementations share. */
    private static void roundTrip(BlockDevice dev) {
        assertArrayEquals(new byte[4096], read(dev, 0, 4096), "a fresh device reads zeros");

        byte[] data = random(200_000, 1); // spans several 64 KiB memory chunks
        dev.write(65_536 - 100, data, 0, data.length);
        assertArrayEquals(data, read(dev, 65_536 - 100, data.length));

        byte[] tail = random(512, 2);
        dev.write(dev.size() - 512, tail, 0, 512);
        byte[] into = new byte[600];
        dev.read(dev.size() - 512, into, 50, 512);
        assertArrayEquals(tail, java.util.Arrays.copyOfRange(into, 50, 562), "dstOff honoured");

        byte[] part = random(100, 3);
        dev.write(10, part, 20, 30);
        assertArrayEquals(java.util.Arrays.copyOfRange(part, 20, 50), read(dev, 10, 30), "srcOff honoured");

        dev.flush();
        IoCounters c = dev.counters();
        assertEquals(3, c.writes());
        assertEquals(200_000 + 512 + 30, c.bytesWritten());
        assertEquals(4, c.reads());
        assertEquals(4096 + 200_000 + 512 + 30, c.bytesRead());
        assertEquals(1, c.flushes());
    }

    /** Out-of-range access: EIO, nothing written, nothing counted. */
    private static void refusesOutOfRange(BlockDevice dev) {
        IoCounters before = dev.counters();
        byte[] junk = random(1024, 4);
        long size = dev.size();
        for (long[] bad : new long[][] {{size - 512, 1024}, {size, 1}, {-1, 16}, {0, -1}, {Long.MAX_VALUE, 1},
                                        {Long.MAX_VALUE - 10, 1000}}) {
            BtrfsException e = assertThrows(BtrfsException.class, () -> dev.write(bad[0], junk, 0, (int) bad[1]),
                () -> "write at " + bad[0] + " len " + bad[1]);
            assertEquals(Errno.EIO, e.errno());
            assertTrue(e.getMessage().contains("beyond end of device " + dev.name()), e.getMessage());
            assertThrows(BtrfsException.class, () -> dev.read(bad[0], new byte[1024], 0, (int) bad[1]));
        }
        assertArrayEquals(new byte[512], read(dev, size - 512, 512), "the partial overlap wrote nothing");

        // A buffer shorter than len is the caller's bug; it too must leave the device untouched.
        assertThrows(IndexOutOfBoundsException.class, () -> dev.write(65_536 - 10, new byte[50], 0, 100));
        assertThrows(IndexOutOfBoundsException.class, () -> dev.write(0, new byte[50], 40, 20));
        assertThrows(IndexOutOfBoundsException.class, () -> dev.read(0, new byte[50], 0, 100));
        assertArrayEquals(new byte[100], read(dev, 65_536 - 10, 100), "nothing of the short write landed");

        IoCounters after = dev.counters();
        assertEquals(before.writes(), after.writes());
        assertEquals(before.bytesWritten(), after.bytesWritten());
        assertEquals(before.reads() + 2, after.reads(), "only the two verifying reads counted");
    }

    @Test
    void memoryDeviceIsSparse() {
        MemoryBlockDevice d = new MemoryBlockDevice("big", 16L << 30);
        d.write(5L << 30, new byte[4 << 20], 0, 4 << 20);
        assertEquals(0, d.allocatedBytes(), "zeros into a hole stay a hole");
        byte[] one = {7};
        d.write((5L << 30) + 100, one, 0, 1);
        assertEquals(64 * 1024, d.allocatedBytes());
        d.write(5L << 30, new byte[4096], 0, 4096); // zeros over written data are written
        byte[] back = new byte[1];
        d.read((5L << 30) + 100, back, 0, 1);
        assertEquals(0, back[0]);
        d.read((9L << 30), back, 0, 1);
        assertEquals(0, back[0], "a hole reads as zeros");
    }

    @Test
    void memoryDeviceRoundTrip() {
        BlockDevice dev = new MemoryBlockDevice("sdc", 4 * MIB);
        assertEquals("sdc", dev.name());
        assertEquals(4 * MIB, dev.size());
        roundTrip(dev);
    }

    @Test
    void memoryDeviceRefusesOutOfRange() {
        refusesOutOfRange(new MemoryBlockDevice("sdc", 4 * MIB));
    }

    @Test
    void fileDeviceRoundTripAndPersistence() throws Exception {
        Path img = dir.resolve("sdc.img");
        byte[] data = random(10_000, 5);
        try (FileBlockDevice dev = new FileBlockDevice("sdc", img, 4 * MIB)) {
            roundTrip(dev);
            dev.write(MIB, data, 0, data.length);
            dev.flush();
        }
        assertEquals(4 * MIB, Files.size(img), "the image is sized to the device");
        try (FileBlockDevice again = new FileBlockDevice("sdc", img, 4 * MIB)) {
            assertArrayEquals(data, read(again, MIB, data.length), "data survived close and reopen");
            assertEquals(0, again.counters().writes(), "counters are per open device");
        }
    }

    @Test
    void fileDeviceRefusesOutOfRange() {
        try (FileBlockDevice dev = new FileBlockDevice("sdd", dir.resolve("sdd.img"), 4 * MIB)) {
            refusesOutOfRange(dev);
        }
    }

    @Test
    void fileDeviceReadsZerosWhereTheImageWasTruncated() throws Exception {
        Path img = dir.resolve("short.img");
        try (FileBlockDevice dev = new FileBlockDevice("sde", img, MIB)) {
            dev.write(MIB - 4096, random(4096, 6), 0, 4096);
            try (var ch = java.nio.channels.FileChannel.open(img, java.nio.file.StandardOpenOption.WRITE)) {
                ch.truncate(MIB - 8192);
            }
            byte[] dst = random(4096, 7); // stale bytes that must not survive
            dev.read(MIB - 4096, dst, 0, 4096);
            assertArrayEquals(new byte[4096], dst);
        }
    }

    @Test
    void ioOnAClosedFileDeviceIsEio() {
        FileBlockDevice dev = new FileBlockDevice("sdf", dir.resolve("closed.img"), MIB);
        dev.close();
        assertEquals(Errno.EIO, assertThrows(BtrfsException.class, () -> read(dev, 0, 512)).errno());
        assertEquals(Errno.EIO, assertThrows(BtrfsException.class, () -> dev.write(0, new byte[512], 0, 512)).errno());
        assertEquals(Errno.EIO, assertThrows(BtrfsException.class, dev::flush).errno());
    }

    @Test
    void badSizesAreRefused() {
        for (long size : new long[] {-512, 0, 1000}) {
            assertThrows(IllegalArgumentException.class, () -> new MemoryBlockDevice("sdc", size), "size " + size);
            assertThrows(IllegalArgumentException.class, () -> new FileBlockDevice("sdc", dir.resolve("bad.img"), size));
        }
        assertTrue(Files.notExists(dir.resolve("bad.img")), "a refused size creates no image");
    }

    /** Each 4 KiB sector of a memory device remembers its last writer; wrappers answer for the device they wrap. */
    @Test
    void aMemoryDeviceNamesTheLastWriterOfEachSector() {
        MemoryBlockDevice mem = new MemoryBlockDevice("sdc", 4L * MIB);
        BlockDevice dev = new FlakeyBlockDevice("sdc", mem);
        assertEquals(null, dev.lastWrite(0), "never written");
        long before = System.nanoTime();
        org.jbtrfs.testsupport.TestThread.run("writer-a", () -> dev.write(65_536 - 100, new byte[8192], 0, 8192)).join(); // zeros into holes too
        dev.write(65_536 + 4096, new byte[4096], 0, 4096); // the second of the three sectors, by this thread
        assertEquals("writer-a", dev.lastWrite(65_536 - 4096).thread(), "the sector before the 64 KiB boundary");
        assertEquals(Thread.currentThread().getName(), dev.lastWrite(65_536 + 4096).thread());
        assertEquals("writer-a", dev.lastWrite(65_536).thread());
        assertTrue(dev.lastWrite(65_536).nanoTime() >= before);
        assertEquals(null, dev.lastWrite(2L * 65_536), "past the write");
        assertEquals(null, dev.lastWrite(-1));
        assertEquals(null, dev.lastWrite(4L * MIB), "beyond the end");
    }
}
