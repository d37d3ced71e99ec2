package org.jbtrfs.core;

/**
 * A block device: a named, fixed-size array of 512-byte sectors with byte-addressed I/O (the port
 * never needs partial-sector writes, but it does not forbid them).
 */
public interface BlockDevice extends AutoCloseable {
    int SECTOR_SIZE = 512;

    /** "sdc", as the kernel log names the device. */
    String name();

    long size();

    void read(long offset, byte[] dst, int dstOff, int len);

    void write(long offset, byte[] src, int srcOff, int len);

    /** REQ_PREFLUSH: make every completed write durable. */
    void flush();

    IoCounters counters();

    @Override
    default void close() { }

    /**
     * The last write of the 4 KiB sector holding {@code offset}, if this device (or the one it wraps) keeps track: an
     * in-memory device does; null otherwise or for a sector never written since the device was created.
     */
    default LastWrite lastWrite(long offset) { return null; }

    /** Bounds check shared by the implementations: clear error, nothing written. */
    static void checkRange(BlockDevice dev, long offset, int len) {
        // offset > size - len, not offset + len > size: the sum overflows near Long.MAX_VALUE and would pass.
        if (offset < 0 || len < 0 || offset > dev.size() - len) {
            throw new BtrfsException(Errno.EIO, "access beyond end of device " + dev.name() + ": offset " + offset
                + " len " + len + " size " + dev.size());
        }
    }

    /**
     * {@link #checkRange(BlockDevice, long, int)} plus the caller's buffer, checked before any byte
     * moves: a short buffer found by System.arraycopy halfway through a multi-chunk write would leave
     * the device half written.
     */
    static void checkRange(BlockDevice dev, long offset, byte[] buf, int bufOff, int len) {
        if (buf == null) {
            throw new IllegalArgumentException("buffer must not be null");
        }
        checkRange(dev, offset, len);
        java.util.Objects.checkFromIndexSize(bufOff, len, buf.length);
    }
}
