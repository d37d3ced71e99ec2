package org.jbtrfs.stress.workload;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.jbtrfs.core.disk.Le;

/**
 * What the workloads write into files: bytes that name themselves. Every 512 bytes of a payload begin with a 16-byte
 * stamp — the payload's serial number (one per write, in the order the writes were made), the block's index in it and
 * a magic word — and are zeros after it. Zeros alone (what the workloads wrote until stop 77) have one checksum for
 * every sector, so a sector that kept an older life or got another place's data passed every check that older life
 * happened to share; a stamped sector fails its sum unless it holds exactly what was written there, and its stamp says
 * which write it came from ({@link #describe}). Mostly zeros still, so compression and the devices' memory stay cheap.
 */
public final class Payload {
    /** A stamp every this many bytes. */
    static final int BLOCK = 512;
    /** "JBTF" as a little-endian int. */
    static final int MAGIC = 0x46544A42;
    private static final int STAMP = 16;
    private static final AtomicLong SERIAL = new AtomicLong();

    private Payload() { }

    /** A new payload of {@code len} bytes (a payload shorter than a stamp is zeros). */
    public static byte[] bytes(int len) {
        if (len < 0) {
            throw new IllegalArgumentException("len must not be negative: " + len);
        }
        return stamp(new byte[len]);
    }

    /** Stamps {@code b} afresh, in place (a buffer written again is a new payload), and returns it. */
    public static byte[] stamp(byte[] b) {
        long serial = SERIAL.incrementAndGet();
        for (int at = 0, block = 0; at + STAMP <= b.length; at += BLOCK, block++) {
            Le.u64(b, at, serial);
            Le.u32(b, at + 8, block);
            Le.u32(b, at + 12, MAGIC);
        }
        return b;
    }

    /**
     * The stamps in {@code data} (a sector read back), as "payload #S block K" for each, or what the bytes are when
     * they hold none: "zeros", or "no payload stamp" (metadata, another filesystem's bytes).
     */
    public static String describe(byte[] data) {
        List<String> found = new ArrayList<>();
        boolean zeros = true;
        for (byte x : data) {
            if (x != 0) {
                zeros = false;
                break;
            }
        }
        if (zeros) {
            return "zeros";
        }
        for (int at = 0; at + STAMP <= data.length; at++) {
            if (Le.u32(data, at + 12) == MAGIC) {
                found.add("payload #" + Le.u64(data, at) + " block " + Le.u32(data, at + 8));
                at += STAMP - 1;
            }
        }
        return found.isEmpty() ? "no payload stamp" : String.join(", ", found);
    }
}
