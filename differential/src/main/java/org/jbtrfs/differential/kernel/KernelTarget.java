package org.jbtrfs.differential.kernel;

import com.sun.jna.LastErrorException;
import com.sun.jna.NativeLong;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.jbtrfs.differential.KernelStuckException;
import org.jbtrfs.differential.QuotaFacts;
import org.jbtrfs.differential.RootTreeFacts;
import org.jbtrfs.differential.Target;
import org.jbtrfs.differential.TargetException;

/**
 * The running kernel as a target: a sparse image file in a private temporary directory on a loop device,
 * formatted by mkfs.btrfs, mounted, remounted and unmounted with the mount(2) / umount2(2) syscalls from
 * this JVM (never mount(8)); btrfs-progs for subvolumes, quotas and dump-tree; /dev/kmsg for dmesg.
 *
 * <p>It touches only what it made: its image files, the loop devices backed by them (found with
 * {@code losetup -j}), its own mount point. {@link #close()} — also run by a shutdown hook — unmounts
 * and detaches all of them, even after a failure. A syscall or command that does not return within its
 * time limit means the kernel's btrfs is stuck: a {@link KernelStuckException} stops the run (the
 * watchdog halts the JVM if the stuck call never returns), and nothing is retried.
 *
 * <p>The crash is not dm-flakey: {@link #crash()} copies the image file (sparse) at that moment and
 * {@link #recover()}, after the umount, detaches the loop device, puts the copy back and attaches it
 * again — what the next mount after a power cut at the crash would find.
 */
public final class KernelTarget implements Target {
    /** A mount / remount / umount / syncfs that takes longer than this is a stuck kernel. */
    static final long SYSCALL_LIMIT_SECONDS = 60;

    private final Libc libc;
    private final Path dir;
    private final Path image;
    private final Path crashCopy;
    private final Path mnt;
    private final Kmsg kmsg;
    private final String release;
    private final Set<String> loopNames = new LinkedHashSet<>();
    private final Map<String, FileChannel> handles = new HashMap<>();
    private final Thread shutdownHook;
    private final Watchdog watchdog = new Watchdog();
    private String loop;
    private boolean mounted;
    private boolean closed;

    private KernelTarget(Path parent) {
        this.libc = Libc.load();
        try {
            this.dir = Files.createTempDirectory(parent, "jbtrfs-differential-").toRealPath();
            this.mnt = Files.createDirectory(dir.resolve("mnt"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a work directory under " + parent, e);
        }
        this.image = dir.resolve("disk.img");
        this.crashCopy = dir.resolve("crash.img");
        this.kmsg = new Kmsg(libc);
        this.release = Shell.run("uname", "-r").strip();
        this.shutdownHook = new Thread(this::cleanup, "jbtrfs-differential-cleanup");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /**
     * A kernel target working under {@code parent} (a temporary directory is made there). Throws
     * {@link UnavailableException} naming every missing prerequisite (root, loop devices, btrfs-progs).
     */
    public static KernelTarget open(Path parent) {
        List<String> missing = Prerequisites.missing();
        if (!missing.isEmpty()) {
            throw new UnavailableException(missing);
        }
        return new KernelTarget(parent);
    }

    /** The running kernel's release (uname -r). */
    public String release() { return release; }

    @Override public String name() { return "kernel " + release; }

    // ---- lifecycle -------------------------------------------------------------------------------

    @Override public void mkfs(long bytes) {
        if (mounted) {
            throw new TargetException("mkfs while mounted");
        }
        releaseLoops();
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(0);
            f.setLength(bytes); // sparse
        } catch (IOException e) {
            throw new TargetException("cannot create " + image + ": " + e.getMessage(), e);
        }
        Shell.run("mkfs.btrfs", "-f", "-q", image.toString());
        attach();
    }

    private void attach() {
        loop = LoopDevices.attach(image);
        loopNames.add(loop.substring(loop.lastIndexOf('/') + 1));
    }

    @Override public void mount(String options) {
        MountFlags f = MountFlags.parse(options, false);
        syscall("mount(" + loop + ", " + mnt + ", \"" + options + "\")",
            () -> libc.mount(loop, mnt.toString(), "btrfs", new NativeLong(f.ro() ? Libc.MS_RDONLY : 0), f.data()));
        mounted = true;
    }

    @Override public void remount(String options) {
        MountFlags f = MountFlags.parse(options, false);
        long flags = Libc.MS_REMOUNT | (f.ro() ? Libc.MS_RDONLY : 0);
        syscall("mount(MS_REMOUNT, " + mnt + ", \"" + options + "\")",
            () -> libc.mount(loop, mnt.toString(), "btrfs", new NativeLong(flags), f.data()));
    }

    @Override public void umount() {
        syscall("umount2(" + mnt + ")", () -> libc.umount2(mnt.toString(), 0));
        mounted = false;
    }

    // ---- operations ------------------------------------------------------------------------------

    @Override public long createSubvolume(String name) {
        Shell.run("btrfs", "subvolume", "create", path(name).toString());
        return Long.parseLong(Shell.run("btrfs", "inspect-internal", "rootid", path(name).toString()).strip());
    }

    @Override public void deleteSubvolume(String name) { Shell.run("btrfs", "subvolume", "delete", path(name).toString()); }

    /** btrfs filesystem sync first (it wakes the transaction kthread, which wakes the cleaner), then btrfs subvolume sync. */
    @Override public void subvolumeSync() {
        Shell.run("btrfs", "filesystem", "sync", mnt.toString());
        Shell.run("btrfs", "subvolume", "sync", mnt.toString());
    }

    @Override public void createFile(String p) { io(() -> Files.createFile(path(p))); }

    @Override public void unlink(String p) {
        io(() -> {
            Files.delete(path(p));
            return null;
        });
    }

    @Override public void write(String p, int bytes) {
        io(() -> Files.write(path(p), new byte[bytes], StandardOpenOption.CREATE, StandardOpenOption.APPEND));
    }

    /** {@code count} fallocate(2) calls of 4 KiB at an 8 KiB stride: each is its own (preallocated) extent. */
    @Override public void extents(String p, int count) {
        int fd = check("open(" + path(p) + ")", () -> libc.open(path(p).toString(), Libc.O_WRONLY | Libc.O_CREAT | Libc.O_CLOEXEC, 0644));
        try {
            for (long i = 0; i < count; i++) {
                long off = i * 8192;
                check("fallocate(" + path(p) + ", " + off + ", 4096)", () -> libc.fallocate(fd, 0, off, 4096));
            }
        } finally {
            libc.close(fd);
        }
    }

    @Override public void files(String d, int count) {
        io(() -> {
            for (int i = 0; i < count; i++) {
                Files.createFile(path(d).resolve("f" + i));
            }
            return null;
        });
    }

    @Override public void open(String handle, String p) { handles.put(handle, io(() -> FileChannel.open(path(p), StandardOpenOption.READ))); }

    @Override public void close(String handle) {
        FileChannel ch = handles.remove(handle);
        if (ch == null) {
            throw new TargetException("handle '" + handle + "' is not open");
        }
        io(() -> {
            ch.close();
            return null;
        });
    }

    @Override public void quotaEnable() { Shell.run("btrfs", "quota", "enable", mnt.toString()); }

    /** BTRFS_IOC_QUOTA_RESCAN from this JVM (what `btrfs quota rescan` calls): the next step follows at once, as on the port. */
    @Override public void quotaRescan() {
        try (com.sun.jna.Memory args = new com.sun.jna.Memory(Libc.QUOTA_RESCAN_ARGS_SIZE)) {
            args.clear();
            mntIoctl("BTRFS_IOC_QUOTA_RESCAN", Libc.BTRFS_IOC_QUOTA_RESCAN, args);
        }
    }

    /** BTRFS_IOC_QUOTA_RESCAN_WAIT from this JVM (what `btrfs quota rescan -W` calls). */
    @Override public void quotaRescanWait() { mntIoctl("BTRFS_IOC_QUOTA_RESCAN_WAIT", Libc.BTRFS_IOC_QUOTA_RESCAN_WAIT, null); }

    @Override public void sync() {
        int fd = check("open(" + mnt + ")", () -> libc.open(mnt.toString(), Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0));
        try {
            syscall("syncfs(" + mnt + ")", () -> libc.syncfs(fd));
        } finally {
            libc.close(fd);
        }
    }

    /**
     * BTRFS_IOC_SYNC from this JVM (what {@code btrfs filesystem sync} calls, without the process): the kernel
     * syncs the filesystem, then wakes the transaction kthread, which wakes the cleaner. In-process, so a
     * step after it follows within microseconds, as on the port.
     */
    @Override public void fsSync() { mntIoctl("BTRFS_IOC_SYNC", Libc.BTRFS_IOC_SYNC, null); }

    @Override public void freeze() { mntIoctl("FIFREEZE", Libc.FIFREEZE, null); }

    @Override public void thaw() { mntIoctl("FITHAW", Libc.FITHAW, null); }

    /** The image file as the loop device has written it so far (its page cache), copied sparse. */
    @Override public void crash() { Shell.run("cp", "--sparse=always", image.toString(), crashCopy.toString()); }

    /** Detach, put the crash-time copy back, attach again (a fresh block device: no stale cached superblock). */
    @Override public void recover() {
        if (mounted) {
            throw new TargetException("recover while mounted");
        }
        releaseLoops();
        Shell.run("cp", "--sparse=always", crashCopy.toString(), image.toString());
        attach();
    }

    // ---- observations ----------------------------------------------------------------------------

    @Override public RootTreeFacts rootTree() {
        return ProgsOutput.rootTree(Shell.run("btrfs", "inspect-internal", "dump-tree", "-t", "root", image.toString()));
    }

    /** dump-tree -t quota; the recount (btrfs check --qgroup-report) only when not mounted, as btrfs check wants. */
    @Override public QuotaFacts quota() {
        String dump = Shell.run("btrfs", "inspect-internal", "dump-tree", "-t", "quota", image.toString());
        String check = mounted ? null : Shell.runAllowingFailure("btrfs", "check", "--readonly", "--qgroup-report", image.toString()).out();
        return ProgsOutput.quota(dump, check);
    }

    @Override public long dmesgMark() { return kmsg.mark(); }

    /** This filesystem's lines: those naming one of its loop devices, and btrfs lines naming no device. */
    @Override public List<String> dmesgSince(long mark) {
        List<String> out = new ArrayList<>();
        for (Kmsg.Record r : kmsg.since(mark)) {
            if (ours(r.message())) {
                out.add(r.message());
            }
        }
        return out;
    }

    @Override public List<String> healthProblems(long mark) {
        return dmesgSince(mark).stream().filter(KernelTarget::isProblem).toList();
    }

    static boolean isProblem(String m) {
        return m.contains("WARNING:") || m.contains("BUG") || m.contains("assertion failed") || m.contains("Oops")
            || m.contains("leak") || m.contains("Transaction aborted") || m.contains("general protection");
    }

    /** btrfs_printk's device tag: "(device loop1)", or with state letters "(device loop1 state M)". */
    private static final java.util.regex.Pattern DEVICE = java.util.regex.Pattern.compile("\\(device ([^ )]+)[^)]*\\)");

    /** The device a btrfs_printk line names ("loop1" of "BTRFS info (device loop1 state M): ..."), or null. */
    static String deviceTag(String m) {
        java.util.regex.Matcher d = DEVICE.matcher(m);
        return d.find() ? d.group(1) : null;
    }

    private boolean ours(String m) {
        String dev = deviceTag(m);
        if (dev != null) {
            return loopNames.contains(dev);
        }
        for (String l : loopNames) {
            if (m.contains("/dev/" + l + " ")) {
                return true;
            }
        }
        return m.contains("BTRFS") || m.contains("btrfs");
    }

    /** BTRFS_IOC_QUOTA_RESCAN_STATUS from this JVM (what `btrfs quota rescan -s` calls): flags 1 while RESCAN is set. */
    @Override public boolean rescanRunning() {
        try (com.sun.jna.Memory args = new com.sun.jna.Memory(Libc.QUOTA_RESCAN_ARGS_SIZE)) {
            args.clear();
            mntIoctl("BTRFS_IOC_QUOTA_RESCAN_STATUS", Libc.BTRFS_IOC_QUOTA_RESCAN_STATUS, args);
            return args.getLong(0) != 0;
        }
    }

    /** An ioctl on the mount point's directory, watched like the other syscalls that may block in btrfs. */
    private void mntIoctl(String name, long request, com.sun.jna.Pointer arg) {
        int fd = check("open(" + mnt + ")", () -> libc.open(mnt.toString(), Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0));
        try {
            syscall("ioctl(" + mnt + ", " + name + ")", () -> libc.ioctl(fd, new NativeLong(request), arg));
        } finally {
            libc.close(fd);
        }
    }

    @Override public OptionalInt openTransactions() { return OptionalInt.empty(); }

    @Override public String whyNoTransactions() {
        return "the kernel shows no trans_list; a transaction leaked at umount shows as WARNINGs (btrfs_put_block_group, "
            + "btrfs_release_global_block_rsv) in dmesg: see the health row";
    }

    // ---- cleanup ---------------------------------------------------------------------------------

    @Override public synchronized void close() {
        cleanup();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException ignored) {
            // already shutting down: the hook is running cleanup(), which is idempotent
        }
    }

    /**
     * Closes handles, unmounts our mount point if it is mounted, detaches our loop devices (by backing file),
     * removes our files. Errors are printed and cleanup goes on; a stuck umount is reported and left alone.
     */
    private synchronized void cleanup() {
        if (closed) {
            return;
        }
        closed = true;
        List<String> errors = new ArrayList<>();
        for (FileChannel ch : handles.values()) {
            try {
                ch.close();
            } catch (IOException e) {
                errors.add("close: " + e.getMessage());
            }
        }
        handles.clear();
        if (isMountPoint(mnt)) {
            try {
                syscall("umount2(" + mnt + ")", () -> libc.umount2(mnt.toString(), 0));
            } catch (KernelStuckException e) {
                System.err.println("jbtrfs-differential: " + e.getMessage());
                return; // a stuck umount holds the loop device: leave everything as it is
            } catch (RuntimeException e) {
                errors.add(e.getMessage());
            }
        }
        if (isMountPoint(mnt)) {
            errors.add(mnt + " is still mounted; left attached: " + image);
        } else {
            errors.addAll(releaseLoops());
            try {
                Files.deleteIfExists(image);
                Files.deleteIfExists(crashCopy);
                Files.deleteIfExists(mnt);
                Files.deleteIfExists(dir);
            } catch (IOException e) {
                errors.add("cannot remove " + dir + ": " + e.getMessage());
            }
        }
        try {
            kmsg.close();
        } catch (RuntimeException e) {
            errors.add("close /dev/kmsg: " + e.getMessage());
        }
        watchdog.stop();
        for (String e : errors) {
            System.err.println("jbtrfs-differential: cleanup: " + e);
        }
    }

    private List<String> releaseLoops() {
        List<String> errors = new ArrayList<>(LoopDevices.detachAll(image));
        errors.addAll(LoopDevices.detachAll(crashCopy));
        loop = null;
        return errors;
    }

    /** Whether {@code p} is a mount point now (/proc/self/mountinfo, field 5). */
    static boolean isMountPoint(Path p) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] f = l.split(" ");
                if (f.length > 4 && f[4].equals(p.toString())) {
                    return true;
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    // ---- plumbing --------------------------------------------------------------------------------

    private Path path(String p) { return mnt.resolve(p); }

    private interface IoCall<T> {
        T call() throws IOException;
    }

    private static <T> T io(IoCall<T> c) {
        try {
            return c.call();
        } catch (IOException e) {
            throw new TargetException(e.toString(), e);
        }
    }

    private interface Sys {
        int call();
    }

    private int check(String what, Sys s) {
        try {
            return s.call();
        } catch (LastErrorException e) {
            throw new TargetException(what + ": " + libc.strerror(e.getErrorCode()) + " (errno " + e.getErrorCode() + ")", e);
        }
    }

    /** A syscall that may block in btrfs: watched; one that never returns halts the JVM after cleanup is impossible. */
    private void syscall(String what, Sys s) {
        watchdog.enter(what);
        try {
            check(what, s);
        } finally {
            watchdog.exit();
        }
        if (watchdog.tripped() != null) {
            throw new KernelStuckException(watchdog.tripped());
        }
    }

    /**
     * Watches the syscall in flight from another thread, so timed calls pay nothing for it: one that does
     * not return within {@link #SYSCALL_LIMIT_SECONDS} is reported as a stuck kernel; if it still has not
     * returned 30 s later the JVM halts with exit code 3 (a thread in D state cannot be interrupted, and
     * every further operation would only queue behind it).
     */
    private static final class Watchdog {
        private final AtomicReference<String> current = new AtomicReference<>();
        private final AtomicLong since = new AtomicLong();
        private volatile String tripped;
        private volatile boolean stopped;
        private final Thread thread;

        Watchdog() {
            thread = new Thread(this::loop, "jbtrfs-differential-watchdog");
            thread.setDaemon(true);
            thread.start();
        }

        void enter(String what) {
            since.set(System.nanoTime());
            current.set(what);
        }

        void exit() { current.set(null); }

        String tripped() { return tripped; }

        void stop() {
            stopped = true;
            thread.interrupt();
        }

        private void loop() {
            while (!stopped) {
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
                String what = current.get();
                if (what == null) {
                    continue;
                }
                long secs = (System.nanoTime() - since.get()) / 1_000_000_000L;
                if (secs >= SYSCALL_LIMIT_SECONDS && tripped == null) {
                    tripped = what + " did not return within " + SYSCALL_LIMIT_SECONDS
                        + " s: the kernel's btrfs looks stuck. Stopping; nothing is retried (see dmesg).";
                    System.err.println("jbtrfs-differential: " + tripped);
                }
                if (secs >= SYSCALL_LIMIT_SECONDS + 30) {
                    System.err.println("jbtrfs-differential: " + what + " still blocked after " + secs
                        + " s; halting (exit 3). The mount and its loop device are left as they are.");
                    Runtime.getRuntime().halt(3);
                }
            }
        }
    }

    /** The "ro" / "rw" of an option string and the rest, as mount(2) wants them (flags + data). */
    record MountFlags(boolean ro, String data) {
        static MountFlags parse(String options, boolean current) {
            boolean ro = current;
            List<String> data = new ArrayList<>();
            for (String o : (options == null ? "" : options).split(",")) {
                if (o.isBlank()) {
                    continue;
                }
                if (o.equals("ro")) {
                    ro = true;
                } else if (o.equals("rw")) {
                    ro = false;
                } else {
                    data.add(o);
                }
            }
            return new MountFlags(ro, String.join(",", data));
        }
    }
}
