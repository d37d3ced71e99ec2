package org.jbtrfs.core.kernel;

import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.IoCounters;
import org.jbtrfs.core.LatencyModel;

/**
 * A block device with the device costs of a {@link LatencyModel}: every read, write and flush of the
 * wrapped device makes the calling thread wait the modelled time first (a real wait, see
 * {@link LatencyModel#delay(long)}). Data, counters and errors are the wrapped device's.
 */
public final class LatencyBlockDevice implements BlockDevice {
    private final BlockDevice dev;
    private final LatencyModel latency;

    public LatencyBlockDevice(BlockDevice dev, LatencyModel latency) {
        this.dev = java.util.Objects.requireNonNull(dev, "dev");
        this.latency = java.util.Objects.requireNonNull(latency, "latency");
    }

    /** The device underneath. */
    public BlockDevice device() { return dev; }

    public LatencyModel latency() { return latency; }

    @Override public String name() { return dev.name(); }

    @Override public long size() { return dev.size(); }

    @Override public void read(long offset, byte[] dst, int dstOff, int len) {
        BlockDevice.checkRange(this, offset, dst, dstOff, len); // a bad request fails before it waits
        LatencyModel.delay(latency.readNanos());
        dev.read(offset, dst, dstOff, len);
    }

    @Override public void write(long offset, byte[] src, int srcOff, int len) {
        BlockDevice.checkRange(this, offset, src, srcOff, len);
        LatencyModel.delay(latency.writeNanos());
        dev.write(offset, src, srcOff, len);
    }

    @Override public void flush() {
        LatencyModel.delay(latency.flushNanos());
        dev.flush();
    }

    @Override public org.jbtrfs.core.LastWrite lastWrite(long offset) { return dev.lastWrite(offset); }

    @Override public IoCounters counters() { return dev.counters(); }

    @Override public void close() { dev.close(); }

    @Override public String toString() { return dev + " with " + latency; }
}
