package org.jbtrfs.differential.kernel;

import com.sun.jna.LastErrorException;
import com.sun.jna.NativeLong;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The kernel log through /dev/kmsg, read without blocking: every record has a sequence number, so
 * "what was logged since the scenario began" is exact, whatever else the machine logs.
 */
final class Kmsg implements AutoCloseable {
    /** One record: its sequence number and its message (continuation dictionary lines dropped). */
    record Record(long seq, String message) { }

    private final Libc libc;
    private final int fd;
    private final List<Record> records = new ArrayList<>();
    private long lastSeq = -1;

    Kmsg(Libc libc) {
        this.libc = libc;
        this.fd = libc.open("/dev/kmsg", Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0);
    }

    /** Reads every record logged so far; keeps only those after the first drain's end (older ones are not ours). */
    synchronized void drain() {
        byte[] buf = new byte[16384];
        boolean first = lastSeq < 0;
        while (true) {
            int n;
            try {
                n = libc.read(fd, buf, new NativeLong(buf.length)).intValue();
            } catch (LastErrorException e) {
                if (e.getErrorCode() == Libc.EAGAIN) {
                    break;
                }
                if (e.getErrorCode() == Libc.EPIPE || e.getErrorCode() == Libc.EINTR) {
                    continue; // records overwritten before we read them: the next read resumes at the oldest one left
                }
                throw e;
            }
            if (n <= 0) {
                break;
            }
            Record r = parse(new String(buf, 0, n, StandardCharsets.UTF_8));
            if (r == null) {
                continue;
            }
            lastSeq = Math.max(lastSeq, r.seq());
            if (!first) {
                records.add(r);
            }
        }
        if (first && lastSeq < 0) {
            lastSeq = 0;
        }
    }

    /** "6,1234,5678901,-;BTRFS info (device loop0): ...\n SUBSYSTEM=..." → (1234, "BTRFS info ..."). */
    static Record parse(String raw) {
        int semi = raw.indexOf(';');
        if (semi < 0) {
            return null;
        }
        String[] head = raw.substring(0, semi).split(",");
        if (head.length < 2) {
            return null;
        }
        long seq;
        try {
            seq = Long.parseLong(head[1]);
        } catch (NumberFormatException e) {
            return null;
        }
        String msg = raw.substring(semi + 1);
        int nl = msg.indexOf('\n');
        if (nl >= 0) {
            msg = msg.substring(0, nl);
        }
        return new Record(seq, msg.replace("\\x0a", " "));
    }

    /** The sequence number the next record will have. */
    synchronized long mark() {
        drain();
        return lastSeq + 1;
    }

    /** Records with seq &gt;= {@code mark}. */
    synchronized List<Record> since(long mark) {
        drain();
        return records.stream().filter(r -> r.seq() >= mark).toList();
    }

    @Override
    public synchronized void close() {
        libc.close(fd);
    }
}
