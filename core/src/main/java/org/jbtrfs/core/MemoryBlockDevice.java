package org.jbtrfs.core;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * An in-memory block device, allocated lazily in 64 KiB chunks and sparse: a write of zeros to a chunk
 * never written stays a hole (reads of a hole return zeros), so a device big enough for 1 GiB data block
 * groups costs only its chunk table (8 bytes per 64 KiB: 1 MiB for 8 GiB) plus what was really written.
 */
public final class MemoryBlockDevice implements BlockDevice {
    private static final int CHUNK = 64 * 1024;
    private static final byte[] ZEROS = new byte[CHUNK];

    private final String name;
    private final long size;
    private final AtomicReferenceArray<byte[]> chunks;
    private final AtomicLong reads = new AtomicLong(), bytesRead = new AtomicLong();
    private final AtomicLong writes = new AtomicLong(), bytesWritten = new AtomicLong(), flushes = new AtomicLong();
    /**
     * Per 4 KiB sector, its last write ({@link #lastWrite}), kept like the data: a table per 64 KiB chunk, made by the
     * chunk's first write. Racing writers of one sector may leave either's.
     */
    private final AtomicReferenceArray<LastWrite[]> lastWrites;
    private static final boolean WRITE_STACKS = Boolean.getBoolean("jbtrfs.debug.writeStacks");
    private static final int PROVENANCE_SECTOR = 4096;

    public MemoryBlockDevice(String name, long size) {
        if (size <= 0 || size % SECTOR_SIZE != 0) {
            throw new IllegalArgumentException("device size must be a positive multiple of 512: " + size);
        }
        if (size / CHUNK >= Integer.MAX_VALUE) {
            throw new IllegalArgumentException("device too large for memory: " + size);
        }
        this.name = name;
        this.size = size;
        this.chunks = new AtomicReferenceArray<>((int) ((size + CHUNK - 1) / CHUNK));
        this.lastWrites = new AtomicReferenceArray<>(chunks.length());
    }

    @Override public String name() { return name; }

    @Override public long size() { return size; }

    @Override public void read(long offset, byte[] dst, int dstOff, int len) {
        BlockDevice.checkRange(this, offset, dst, dstOff, len);
        int done = 0;
        while (done < len) {
            long pos = offset + done;
            int ci = (int) (pos / CHUNK), co = (int) (pos % CHUNK), n = Math.min(len - done, CHUNK - co);
            byte[] c = chunks.get(ci);
            if (c == null) {
                java.util.Arrays.fill(dst, dstOff + done, dstOff + done + n, (byte) 0);
            } else {
                System.arraycopy(c, co, dst, dstOff + done, n);
            }
            done += n;
        }
        reads.incrementAndGet();
        bytesRead.addAndGet(len);
    }

    @Override public void write(long offset, byte[] src, int srcOff, int len) {
        BlockDevice.checkRange(this, offset, src, srcOff, len);
        int done = 0;
        while (done < len) {
            long pos = offset + done;
            int ci = (int) (pos / CHUNK), co = (int) (pos % CHUNK), n = Math.min(len - done, CHUNK - co);
            byte[] c = chunks.get(ci);
            if (c == null) {
                if (java.util.Arrays.equals(src, srcOff + done, srcOff + done + n, ZEROS, 0, n)) {
                    done += n; // zeros into a hole: it stays a hole
                    continue;
                }
                chunks.compareAndSet(ci, null, new byte[CHUNK]);
                c = chunks.get(ci);
            }
            System.arraycopy(src, srcOff + done, c, co, n);
            done += n;
        }
        writes.incrementAndGet();
        bytesWritten.addAndGet(len);
        if (len > 0) {
            LastWrite w = new LastWrite(Thread.currentThread().getName(), System.nanoTime(), WRITE_STACKS ? callers() : null);
            for (long s = offset / PROVENANCE_SECTOR; s <= (offset + len - 1) / PROVENANCE_SECTOR; s++) {
                int ci = (int) (s * PROVENANCE_SECTOR / CHUNK);
                LastWrite[] t = lastWrites.get(ci);
                if (t == null) {
                    lastWrites.compareAndSet(ci, null, new LastWrite[CHUNK / PROVENANCE_SECTOR]);
                    t = lastWrites.get(ci);
                }
                t[(int) (s % (CHUNK / PROVENANCE_SECTOR))] = w;
            }
        }
    }

    @Override public LastWrite lastWrite(long offset) {
        if (offset < 0 || offset >= size) {
            return null;
        }
        LastWrite[] t = lastWrites.get((int) (offset / CHUNK));
        return t == null ? null : t[(int) (offset % CHUNK / PROVENANCE_SECTOR)];
    }

    /** The port's innermost frames above the device (debugging only: a stack walk). */
    private static String callers() {
        StringBuilder sb = new StringBuilder();
        int n = 0;
        for (StackTraceElement e : new Throwable().getStackTrace()) {
            String c = e.getClassName();
            if (c.startsWith("org.jbtrfs.") && !c.startsWith("org.jbtrfs.core.")) {
                sb.append(n++ > 0 ? " <- " : "").append(c.substring(c.lastIndexOf('.') + 1)).append('.').append(e.getMethodName());
                if (n == 6) {
                    break;
                }
            }
        }
        return sb.toString();
    }

    @Override public void flush() { flushes.incrementAndGet(); }

    /** Bytes of memory holding written data (64 KiB per chunk written with anything but zeros). */
    public long allocatedBytes() {
        long n = 0;
        for (int i = 0; i < chunks.length(); i++) {
            if (chunks.get(i) != null) {
                n += CHUNK;
            }
        }
        return n;
    }

    @Override public IoCounters counters() {
        return new IoCounters(reads.get(), bytesRead.get(), writes.get(), bytesWritten.get(), flushes.get());
    }

    @Override public String toString() { return name + " (memory, " + size + " bytes)"; }
}
