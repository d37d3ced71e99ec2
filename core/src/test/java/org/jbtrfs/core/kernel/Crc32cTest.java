package org.jbtrfs.core.kernel;

import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.KernelConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

class Crc32cTest {
    static Stream<Crc32c> drivers() { return Stream.of(GenericCrc32c.INSTANCE, AcceleratedCrc32c.INSTANCE); }

    private static byte[] filled(int n, java.util.function.IntUnaryOperator f) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) f.applyAsInt(i);
        }
        return b;
    }

    /** RFC 3720 appendix B.4: an iSCSI SCSI Read (10) command PDU. */
    private static final byte[] ISCSI_READ_PDU = filled(48, i -> new int[] {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
        0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}[i]);

    // The RFC prints the CRC bytes as they go on the wire, least significant first ("aa 36 91 8a"
    // for 32 zeros); as an integer that is 0x8A9136AA.
    @ParameterizedTest
    @MethodSource("drivers")
    void rfc3720Vectors(Crc32c crc) {
        assertEquals(0x8A9136AA, crc.compute(new byte[32]), "32 bytes of zeros");
        assertEquals(0x62A8AB43, crc.compute(filled(32, i -> 0xff)), "32 bytes of 0xff");
        assertEquals(0x46DD794E, crc.compute(filled(32, i -> i)), "incrementing 0..31");
        assertEquals(0x113FDB5C, crc.compute(filled(32, i -> 31 - i)), "decrementing 31..0");
        assertEquals(0xD9963A56, crc.compute(ISCSI_READ_PDU), "iSCSI read command PDU");
    }

    @ParameterizedTest
    @MethodSource("drivers")
    void checkValueAndEmptyInput(Crc32c crc) {
        assertEquals(0xE3069283, crc.compute("123456789".getBytes(StandardCharsets.US_ASCII)));
        assertEquals(0, crc.compute(new byte[0]));
        byte[] framed = filled(40, i -> i < 4 || i >= 36 ? 0x5a : i - 4);
        assertEquals(0x46DD794E, crc.compute(framed, 4, 32), "offset and length select the bytes");
    }

    @Test
    void genericMatchesAcceleratedForEveryLengthAndRandomOffsets() {
        SplittableRandom rnd = new SplittableRandom(20201216);
        byte[] buf = new byte[4096 + 64];
        for (int len = 0; len <= 4096; len++) {
            rnd.nextBytes(buf);
            int off = rnd.nextInt(64);
            int g = GenericCrc32c.INSTANCE.compute(buf, off, len);
            int a = AcceleratedCrc32c.INSTANCE.compute(buf, off, len);
            if (g != a) {
                throw new AssertionError("len " + len + " off " + off + ": generic " + Integer.toHexString(g)
                    + " accelerated " + Integer.toHexString(a));
            }
        }
        assertEquals(AcceleratedCrc32c.INSTANCE.compute(buf), GenericCrc32c.INSTANCE.compute(buf));
    }

    @ParameterizedTest
    @MethodSource("drivers")
    void outOfBoundsRangesAreRefused(Crc32c crc) {
        byte[] b = new byte[16];
        assertThrows(IndexOutOfBoundsException.class, () -> crc.compute(b, -1, 4));
        assertThrows(IndexOutOfBoundsException.class, () -> crc.compute(b, 0, -1));
        assertThrows(IndexOutOfBoundsException.class, () -> crc.compute(b, 8, 9));
        // off + len overflows int: must not pass as an empty range
        assertThrows(IndexOutOfBoundsException.class, () -> crc.compute(b, 1, Integer.MAX_VALUE));
    }

    @Test
    void driverNamesDecideCsumImplFast() {
        assertEquals("crc32c-generic", GenericCrc32c.INSTANCE.driverName());
        assertFalse(GenericCrc32c.INSTANCE.isFast());
        assertEquals("crc32c-intel", AcceleratedCrc32c.INSTANCE.driverName());
        assertTrue(AcceleratedCrc32c.INSTANCE.isFast());
        assertSame(GenericCrc32c.INSTANCE, Crc32c.of(Crc32cImpl.GENERIC));
        assertSame(AcceleratedCrc32c.INSTANCE, Crc32c.of(Crc32cImpl.ACCELERATED));
        try (Kernel k = new Kernel("slowcpu", KernelConfig.defaults().crc32c(Crc32cImpl.GENERIC))) {
            assertFalse(k.crc32c().isFast());
        }
    }
}
