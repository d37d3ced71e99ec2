package org.jbtrfs.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLong;

/** A block device backed by a file (a loop device): survives the JVM, so images can be kept. */
public final class FileBlockDevice implements BlockDevice {
    private final String name;
    private final long size;
    private final FileChannel ch;
    private final AtomicLong reads = new AtomicLong(), bytesRead = new AtomicLong();
    private final AtomicLong writes = new AtomicLong(), bytesWritten = new AtomicLong(), flushes = new AtomicLong();

    /**
     * Opens (creating if needed) {@code file} as a device of {@code size} bytes, growing a shorter file.
     * Errors as losetup(8) meets them, with the errno of the failing open(2) or write(2): ENOENT (its directory
     * does not exist), EISDIR, ENOTDIR (a path component is a file), EACCES (not readable and writable),
     * EROFS, ENOSPC (cannot grow it), EIO for anything else — never an UncheckedIOException.
     *
     * @throws IllegalArgumentException for a null file or a size that is not a positive multiple of 512
     */
    public FileBlockDevice(String name, Path file, long size) {
        if (file == null) {
            throw new IllegalArgumentException("file must not be null");
        }
        if (size <= 0 || size % SECTOR_SIZE != 0) {
            throw new IllegalArgumentException("device size must be a positive multiple of 512: " + size);
        }
        if (Files.isDirectory(file)) {
            throw new BtrfsException(Errno.EISDIR, "cannot open " + file + ": Is a directory");
        }
        this.name = name;
        this.size = size;
        FileChannel c = null;
        try {
            c = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            if (c.size() < size) {
                c.write(ByteBuffer.wrap(new byte[1]), size - 1);
            }
        } catch (IOException e) {
            if (c != null) {
                try {
                    c.close(); // not leaked when sizing the image fails (full disk)
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw openError(file, e);
        }
        this.ch = c;
    }

    /** The errno open(2) or write(2) would have returned for {@code e}. */
    private static BtrfsException openError(Path file, IOException e) {
        String m = String.valueOf(e.getMessage());
        Errno errno;
        String what;
        if (e instanceof NoSuchFileException) {
            errno = Errno.ENOENT;
            what = "No such file or directory";
        } else if (e instanceof AccessDeniedException) {
            errno = Errno.EACCES;
            what = "Permission denied";
        } else if (e instanceof FileSystemException && m.contains("Not a directory")) {
            errno = Errno.ENOTDIR;
            what = "Not a directory";
        } else if (e instanceof FileSystemException && m.contains("Is a directory")) {
            errno = Errno.EISDIR;
            what = "Is a directory";
        } else if (m.contains("Read-only file system")) {
            errno = Errno.EROFS;
            what = "Read-only file system";
        } else if (m.contains("No space left on device")) {
            errno = Errno.ENOSPC;
            what = "No space left on device";
        } else {
            errno = Errno.EIO;
            what = m;
        }
        return new BtrfsException(errno, "cannot open " + file + ": " + what, e);
    }

    @Override public String name() { return name; }

    @Override public long size() { return size; }

    @Override public void read(long offset, byte[] dst, int dstOff, int len) {
        BlockDevice.checkRange(this, offset, dst, dstOff, len);
        ByteBuffer bb = ByteBuffer.wrap(dst, dstOff, len);
        try {
            while (bb.hasRemaining()) {
                if (ch.read(bb, offset + bb.position() - dstOff) < 0) {
                    // The file was shortened behind our back: a device reads zeros there, not stale buffer bytes.
                    java.util.Arrays.fill(dst, bb.position(), dstOff + len, (byte) 0);
                    break;
                }
            }
        } catch (IOException e) {
            throw new BtrfsException(Errno.EIO, "read error on " + name + " at " + offset, e);
        }
        reads.incrementAndGet();
        bytesRead.addAndGet(len);
    }

    @Override public void write(long offset, byte[] src, int srcOff, int len) {
        BlockDevice.checkRange(this, offset, src, srcOff, len);
        ByteBuffer bb = ByteBuffer.wrap(src, srcOff, len);
        try {
            while (bb.hasRemaining()) {
                ch.write(bb, offset + bb.position() - srcOff);
            }
        } catch (IOException e) {
            throw new BtrfsException(Errno.EIO, "write error on " + name + " at " + offset, e);
        }
        writes.incrementAndGet();
        bytesWritten.addAndGet(len);
    }

    @Override public void flush() {
        try {
            ch.force(false);
        } catch (IOException e) {
            throw new BtrfsException(Errno.EIO, "flush error on " + name, e);
        }
        flushes.incrementAndGet();
    }

    @Override public IoCounters counters() {
        return new IoCounters(reads.get(), bytesRead.get(), writes.get(), bytesWritten.get(), flushes.get());
    }

    @Override public void close() {
        try {
            ch.close();
        } catch (IOException e) {
            throw new BtrfsException(Errno.EIO, "close error on " + name, e);
        }
    }
}
