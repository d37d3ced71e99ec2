package org.jbtrfs.stress.workload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.jbtrfs.core.disk.Le;
import org.jbtrfs.core.kernel.Crc32c;
import org.jbtrfs.core.Crc32cImpl;
import org.junit.jupiter.api.Test;

class PayloadTest {
    private static final Crc32c CRC = Crc32c.of(Crc32cImpl.ACCELERATED);

    /** Every 512 bytes carry the write's serial and the block's index; a sector's bytes say which write made them. */
    @Test
    void aPayloadNamesItsWriteAndBlockInEverySector() {
        byte[] p = Payload.bytes(8192);
        long serial = Le.u64(p, 0);
        for (int block = 0; block < 16; block++) {
            assertEquals(serial, Le.u64(p, block * 512));
            assertEquals(block, Le.u32(p, block * 512 + 8));
        }
        String second = Payload.describe(Arrays.copyOfRange(p, 4096, 8192));
        assertTrue(second.startsWith("payload #" + serial + " block 8, payload #" + serial + " block 9"), second);
        // at an offset a sector does not share with the payload's blocks (an unaligned write), the stamps are found too
        byte[] sector = new byte[4096];
        System.arraycopy(p, 0, sector, 100, 1000);
        assertEquals("payload #" + serial + " block 0, payload #" + serial + " block 1", Payload.describe(sector));
    }

    /** Two writes of one buffer are two payloads, so two sectors of them have two checksums (zeros had one). */
    @Test
    void aBufferStampedAgainIsAnotherPayload() {
        byte[] b = new byte[4096];
        int zeros = CRC.compute(b, 0, b.length);
        int first = CRC.compute(Payload.stamp(b), 0, b.length);
        long serial = Le.u64(b, 0);
        int second = CRC.compute(Payload.stamp(b), 0, b.length);
        assertNotEquals(zeros, first);
        assertNotEquals(first, second);
        assertTrue(Le.u64(b, 0) > serial, "serials grow in the order of the writes");
    }

    @Test
    void whatABufferWithoutAStampHolds() {
        assertEquals("zeros", Payload.describe(new byte[4096]));
        assertEquals("zeros", Payload.describe(Payload.bytes(15)), "a payload shorter than a stamp is zeros");
        byte[] other = new byte[4096];
        other[7] = 1;
        assertEquals("no payload stamp", Payload.describe(other));
        assertThrows(IllegalArgumentException.class, () -> Payload.bytes(-1));
    }
}
