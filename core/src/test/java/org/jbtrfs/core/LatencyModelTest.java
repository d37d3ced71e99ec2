package org.jbtrfs.core;

import org.jbtrfs.core.kernel.LatencyBlockDevice;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The latency model's values and the device wrapper; the waits are checked as lower bounds only. */
class LatencyModelTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    @Test
    void offByDefaultAndParsedFromTheStressSyntax() {
        assertSame(LatencyModel.NONE, KernelConfig.defaults().latency());
        assertSame(LatencyModel.NONE, LatencyModel.parse("off"));
        assertSame(LatencyModel.VIRTIO_BLK, LatencyModel.parse(" Virtio "));
        assertEquals(new LatencyModel(60_000, 0, 300_000, 240_000), LatencyModel.parse(" 60, 0,300,240"));
        assertEquals(LatencyModel.VIRTIO_BLK, LatencyModel.parse("60,0,300,200"));
        for (String bad : new String[] {"", "fast", "1,2,3", "1,2,x,4", "-1,0,0,0"}) {
            assertThrows(IllegalArgumentException.class, () -> LatencyModel.parse(bad), bad);
        }
        assertThrows(IllegalArgumentException.class, () -> KernelConfig.defaults().latency(null));
        KernelConfig c = KernelConfig.defaults().latency(LatencyModel.VIRTIO_BLK).revert(FixSwitch.TRANS_LIST_ASSERT);
        assertSame(LatencyModel.VIRTIO_BLK, c.latency(), "kept by the other copy methods");
        assertTrue(LatencyModel.NONE.noDeviceCost());
        assertTrue(LatencyModel.NONE.wakeup(Duration.ofMillis(1)).noDeviceCost());
        assertEquals("off", LatencyModel.NONE.toString());
    }

    @Test
    void theDelayIsARealWaitOfAtLeastTheModelledTime() {
        long t0 = System.nanoTime();
        LatencyModel.delay(2 * MS);
        assertTrue(System.nanoTime() - t0 >= 2 * MS);
        Thread.currentThread().interrupt();
        t0 = System.nanoTime();
        LatencyModel.delay(2 * MS);
        assertTrue(System.nanoTime() - t0 >= 2 * MS, "an interrupt does not cut it short");
        assertTrue(Thread.interrupted(), "and is re-asserted");
    }

    @Test
    void theDeviceWrapperChargesEachIoAndChangesNothingElse() {
        MemoryBlockDevice mem = new MemoryBlockDevice("sdc", 1 << 20);
        LatencyBlockDevice dev = new LatencyBlockDevice(mem, new LatencyModel(MS, 2 * MS, 3 * MS, 0));
        byte[] data = new byte[16384];
        data[7] = 42;
        long t0 = System.nanoTime();
        dev.write(16384, data, 0, data.length);
        long t1 = System.nanoTime();
        byte[] back = new byte[16384];
        dev.read(16384, back, 0, back.length);
        long t2 = System.nanoTime();
        dev.flush();
        long t3 = System.nanoTime();
        assertTrue(t1 - t0 >= 2 * MS && t2 - t1 >= MS && t3 - t2 >= 3 * MS);
        assertArrayEquals(data, back);
        assertEquals(mem.counters(), dev.counters());
        assertEquals(new IoCounters(1, 16384, 1, 16384, 1), dev.counters());
        assertEquals("sdc", dev.name());
    }

    /** An out-of-range request fails at once: with an hour of modelled latency, waiting first would hang here. */
    @Test
    @Timeout(60)
    void aBadRequestFailsBeforeItWaits() {
        long hour = TimeUnit.HOURS.toNanos(1);
        LatencyBlockDevice dev = new LatencyBlockDevice(new MemoryBlockDevice("sdc", 1 << 20), new LatencyModel(hour, hour, 0, 0));
        byte[] b = new byte[16384];
        assertThrows(BtrfsException.class, () -> dev.read(1 << 20, b, 0, b.length));
        assertThrows(BtrfsException.class, () -> dev.write(-1, b, 0, b.length));
    }
}
