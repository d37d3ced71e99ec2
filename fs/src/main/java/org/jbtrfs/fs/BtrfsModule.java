package org.jbtrfs.fs;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Faults;
import org.jbtrfs.core.FileBlockDevice;
import org.jbtrfs.core.FlakeyBlockDevice;
import org.jbtrfs.core.Hooks;
import org.jbtrfs.core.kernel.Kernel;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.kernel.LatencyBlockDevice;
import org.jbtrfs.core.LatencyModel;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.LogLevel;
import org.jbtrfs.core.MemoryBlockDevice;
import org.jbtrfs.core.SlabLeak;
import org.jbtrfs.core.kernel.SlabObject;
import org.jbtrfs.transaction.Mkfs;
import org.jbtrfs.workqueue.WorkerPool;

/**
 * A loaded btrfs module (insmod … rmmod): its kernel context (config, log, slab caches, hooks,
 * faults), the kworker pool and kthreadd its filesystems share, the devices it made and the
 * filesystems mounted through it. Modules loaded side by side share nothing, so parallel tests each
 * load their own.
 *
 * <pre>{@code
 * BtrfsModule mod = BtrfsModule.load(KernelConfig.defaults());
 * BlockDevice sdc = mod.createDevice("sdc", 256 << 20);
 * mod.mkfs(sdc);
 * Btrfs fs = mod.mount(sdc, "commit=5");
 * fs.createFile("a");
 * fs.remount("ro");
 * fs.umount();
 * UnloadReport r = mod.unload();
 * }</pre>
 */
public final class BtrfsModule implements AutoCloseable {
    private static final AtomicInteger LOADED = new AtomicInteger();

    static {
        org.jbtrfs.fs.internal.Internals.install(InternalsDoor.INSTANCE);
    }

    private final Kernel kernel;
    private final WorkerPool workerPool;
    private final Map<String, BlockDevice> devices = new ConcurrentHashMap<>();
    /** The dev-replace targets the module's filesystems were given (see {@link #scannedDevices}). */
    private final java.util.Set<BlockDevice> replaceTargets = ConcurrentHashMap.newKeySet();
    /** The superblocks by device name (the kernel's super_blocks list); its monitor is sb_lock. */
    private final Map<String, VfsSuper> supers = new java.util.HashMap<>();
    /** The superblocks of {@link #supers}, readable without sb_lock: a hang report must not wait for a hung mount. */
    private final java.util.Set<VfsSuper> liveSupers = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile UnloadReport unloaded;
    /** What {@link #close()}'s umounts threw: surfaced in the UnloadReport, never swallowed. */
    private final List<Throwable> cleanupErrors = new java.util.concurrent.CopyOnWriteArrayList<>();

    private BtrfsModule(KernelConfig config) {
        this.kernel = new Kernel("btrfs" + LOADED.incrementAndGet(), config);
        this.workerPool = new WorkerPool(kernel, config.workerThreads());
        AsyncCow.initCompress();
    }

    /** kernel: init_btrfs_fs() — insmod: create the slab caches and the module's thread pools. */
    public static BtrfsModule load(KernelConfig config) {
        if (config == null) {
            throw new IllegalArgumentException("config must not be null: KernelConfig.defaults() for the kernel as it should be");
        }
        return new BtrfsModule(config);
    }

    /** insmod with every fix applied. */
    public static BtrfsModule load() { return load(KernelConfig.defaults()); }

    /** The kernel context below the API: fs's own code and tests; our tools reach it through fs.internal.Internals. */
    Kernel kernel() { return kernel; }

    /** The loaded module's name (each load has its own: "btrfs", "btrfs#2", ...), as its kernel log names it. */
    public String name() { return kernel.name(); }

    public KernelConfig config() { return kernel.config(); }

    public KernelLog log() { return kernel.log(); }

    public Hooks hooks() { return kernel.hooks(); }

    public Faults faults() { return kernel.faults(); }

    WorkerPool workerPool() { return workerPool; }

    /**
     * An in-memory block device of {@code size} bytes named {@code name} ("sdc"); with the device costs
     * of the config's {@link org.jbtrfs.core.LatencyModel}, if any.
     *
     * @throws IllegalArgumentException for a null or blank name, a name with '/', or a size that is not a
     *         positive multiple of 512
     * @throws BtrfsException EEXIST if the module has a device of that name; EINVAL once unloaded
     */
    public BlockDevice createDevice(String name, long size) {
        checkLoaded();
        checkDeviceName(name);
        BlockDevice d = withLatency(new MemoryBlockDevice(name, size));
        if (devices.putIfAbsent(name, d) != null) {
            throw new BtrfsException(Errno.EEXIST, "device " + name + " already exists");
        }
        return d;
    }

    /**
     * A file-backed block device (a loop device over {@code file}, created if missing and grown to
     * {@code size}); latency as {@link #createDevice}.
     *
     * @throws BtrfsException ENOENT if the file's directory does not exist, EISDIR if {@code file} is a
     *         directory, EACCES if it cannot be opened for reading and writing, EROFS on a read-only file
     *         system, ENOSPC if it cannot be grown, EIO otherwise; EEXIST for a name in use
     */
    public BlockDevice createFileDevice(String name, Path file, long size) {
        checkLoaded();
        checkDeviceName(name);
        if (file == null) {
            throw new IllegalArgumentException("file must not be null");
        }
        if (devices.containsKey(name)) {
            throw new BtrfsException(Errno.EEXIST, "device " + name + " already exists");
        }
        BlockDevice d = withLatency(new FileBlockDevice(name, file, size));
        if (devices.putIfAbsent(name, d) != null) {
            d.close();
            throw new BtrfsException(Errno.EEXIST, "device " + name + " already exists");
        }
        return d;
    }

    /**
     * A dm-flakey-style wrapper named {@code name} around {@code backing} (a device of this module or any
     * other {@link BlockDevice}), registered as a device of the module: mkfs, mount and umount it like any
     * device, and call {@link FlakeyBlockDevice#dropWrites()} to simulate a power cut from that moment
     * (fstests' {@code _load_flakey_table $FLAKEY_DROP_WRITES}), {@link FlakeyBlockDevice#errorWrites()} to
     * fail writes with EIO, {@link FlakeyBlockDevice#allowWrites()} to switch back. Do not mount
     * {@code backing} itself while the wrapper is in use. EEXIST if {@code name} is taken.
     */
    public FlakeyBlockDevice createFlakeyDevice(String name, BlockDevice backing) {
        return createFlakeyDevice(name, backing, null);
    }

    /**
     * {@link #createFlakeyDevice(String, BlockDevice)} on the same power as {@code samePower} (null: its own): a power cut
     * of either cuts both at once, as a machine's disks lose power together (a filesystem and its replace target).
     */
    public FlakeyBlockDevice createFlakeyDevice(String name, BlockDevice backing, FlakeyBlockDevice samePower) {
        checkLoaded();
        checkDeviceName(name);
        FlakeyBlockDevice d = new FlakeyBlockDevice(name, backing, samePower);
        if (devices.putIfAbsent(name, d) != null) {
            throw new BtrfsException(Errno.EEXIST, "device " + name + " already exists");
        }
        return d;
    }

    /** A device name as the kernel names a block device: not null, not blank, no '/'. */
    private static void checkDeviceName(String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("name must not be " + (name == null ? "null" : "blank"));
        }
        if (name.indexOf('/') >= 0) {
            throw new IllegalArgumentException("name must not contain '/': '" + name + "'");
        }
    }

    private static void checkDevice(BlockDevice dev) {
        if (dev == null) {
            throw new IllegalArgumentException("dev must not be null");
        }
    }

    private BlockDevice withLatency(BlockDevice d) {
        LatencyModel l = kernel.config().latency();
        return l.noDeviceCost() ? d : new LatencyBlockDevice(d, l);
    }

    /**
     * The devices a device scan would find: the dev-replace targets the module's filesystems were given (the kernel's
     * fs_devices keep a replace target after the umount) first, then the module's own devices, a dm-flakey target's
     * disk left out.
     */
    java.util.Collection<BlockDevice> scannedDevices() {
        java.util.Set<BlockDevice> all = new java.util.LinkedHashSet<>(replaceTargets);
        all.addAll(devices.values());
        // a dm-flakey target's disk is not scanned beside it: the target is the device in use ("Do not mount backing")
        for (BlockDevice d : devices.values()) {
            if (d instanceof org.jbtrfs.core.FlakeyBlockDevice f) {
                all.remove(f.backing());
            }
        }
        return all;
    }

    /** The devices the module's filesystems were given as dev-replace targets. */
    java.util.Collection<BlockDevice> replaceTargetsSeen() { return java.util.List.copyOf(replaceTargets); }

    /** A dev-replace target, registered as btrfs_init_dev_replace_tgtdev adds it to the filesystem's devices. */
    void rememberReplaceTarget(BlockDevice d) { replaceTargets.add(d); }

    /**
     * Whether {@code d} is open for a filesystem of the module (an exclusive open fails): mounted through it, or one of a
     * mounted filesystem's devices (its device after a replace, a replace's target).
     */
    boolean isMounted(BlockDevice d) {
        synchronized (supers) {
            for (VfsSuper sb : supers.values()) {
                FsContext c = sb.ctx;
                if (c == null ? sb.device.name().equals(d.name())
                    : c.fs.device.source() == d || c.fs.device.target() == d) {
                    return true;
                }
            }
            return false;
        }
    }

    /** mkfs.btrfs on {@code dev} (refused while it is mounted). */
    public void mkfs(BlockDevice dev) { mkfs(dev, ""); }

    /**
     * mkfs.btrfs -L {@code label} on {@code dev} (null label: none). EBUSY while {@code dev} is mounted;
     * EINVAL for a device below 32 MiB or a label of 256 bytes or more (BTRFS_LABEL_SIZE with its NUL, as
     * mkfs.btrfs refuses it).
     */
    public void mkfs(BlockDevice dev, String label) {
        checkLoaded();
        checkDevice(dev);
        if (label != null && label.getBytes(java.nio.charset.StandardCharsets.UTF_8).length >= 256) {
            throw new BtrfsException(Errno.EINVAL, "label is too long (max 255 bytes): " + label.length() + " characters");
        }
        synchronized (supers) {
            if (supers.containsKey(dev.name())) {
                throw new BtrfsException(Errno.EBUSY, dev.name() + " is mounted");
            }
        }
        Mkfs.mkfs(kernel, dev, label);
    }

    /**
     * mount(2) of {@code dev} with {@code options} (null or "" for none) — kernel: btrfs_mount() (see
     * {@link Btrfs}): the first mount of a device opens it (btrfs_mount_root → btrfs_fill_super →
     * open_ctree); mounting it again gives another mount point of the same filesystem — the same fs_info,
     * kthreads and SB_RDONLY — possibly of another subvolume (subvol=PATH, subvolid=ID), read-only on its own
     * with "ro" (MNT_READONLY), or remounting the superblock read-write if it was read-only and "rw" is asked
     * for. On failure nothing keeps running.
     */
    public Btrfs mount(BlockDevice dev, String options) {
        checkLoaded();
        checkDevice(dev);
        return Btrfs.mount(this, dev, options);
    }

    /**
     * kernel: btrfs_mount_root() — sget(): the device's superblock with one more s_active reference, or a new
     * one filled by open_ctree (btrfs_fill_super; the options are parsed for it: btrfs_parse_options). As sget,
     * the new superblock goes on the list under sb_lock and open_ctree runs after sb_lock is dropped, so other
     * devices' mounts and umounts go on meanwhile; a mount of the same device waits for the fill, as grab_super
     * waits for s_umount and SB_BORN, and looks again if the fill failed. A superblock whose last umount is still
     * running is waited for, then replaced (grab_super). The caller drops its reference with
     * {@link #deactivateSuper} if its mount fails.
     */
    VfsSuper mountRoot(BlockDevice dev, String options) {
        VfsSuper sb;
        MountOptions opts;
        synchronized (supers) {
            while ((sb = supers.get(dev.name())) != null && (sb.dying || !sb.born())) {
                VfsSuper busy = sb;
                kernel.sched().waitUntil(supers, "sget: grab_super",
                    () -> supers.get(dev.name()) != busy || busy.born() && !busy.dying);
            }
            checkLoaded();
            if (sb != null) {
                if (sb.device != dev) {
                    throw new BtrfsException(Errno.EBUSY, "another device named " + dev.name() + " is mounted");
                }
                sb.active++;
                return sb;
            }
            opts = MountOptions.parse(options, log(), dev.name());
            sb = new VfsSuper(this, dev);
            supers.put(dev.name(), sb);
        }
        return fillSuper(sb, opts);
    }

    /**
     * kernel: btrfs_fill_super() → open_ctree(), outside sb_lock; then SB_BORN (under sb_lock here: it is what a
     * waiting sget tests). A failed fill takes the superblock off the list again (deactivate_locked_super).
     */
    private VfsSuper fillSuper(VfsSuper sb, MountOptions opts) {
        FsContext ctx;
        try {
            ctx = OpenCtree.openCtree(this, sb.device, opts);
        } catch (RuntimeException | Error e) {
            synchronized (supers) {
                supers.remove(sb.device.name(), sb);
                supers.notifyAll();
            }
            throw e;
        }
        synchronized (supers) {
            sb.setBorn(ctx);
            if (supers.get(sb.device.name()) != sb) {
                // a panicked module's unload took every superblock off meanwhile: this one is as lost as they are
                sb.crashed();
                checkLoaded();
            }
            liveSupers.add(sb);
            supers.notifyAll();
        }
        return sb;
    }

    /** atomic_inc(&sb->s_active) of a superblock already active (a freeze's reference): under sb_lock here. */
    void activateSuper(VfsSuper sb) {
        synchronized (supers) {
            sb.active++;
        }
    }

    /**
     * kernel: deactivate_super() — drop one s_active reference; the last one runs kill_sb
     * ({@link VfsSuper#killSb()}) under s_umount, and the superblock leaves the list even if close_ctree
     * failed.
     */
    void deactivateSuper(VfsSuper sb) {
        synchronized (supers) {
            if (--sb.active > 0) {
                return;
            }
            sb.dying = true;
        }
        sb.sUmount.writeLock().lock();
        try {
            sb.killSb();
        } finally {
            sb.sUmount.writeLock().unlock();
            superGone(sb);
        }
    }

    private void superGone(VfsSuper sb) {
        synchronized (supers) {
            supers.remove(sb.device.name(), sb);
            liveSupers.remove(sb);
            supers.notifyAll();
        }
    }

    /** A mount that could not be unmounted is forgotten (module close): its reference goes, without a close_ctree. */
    private void forget(Btrfs fs) {
        VfsSuper sb = fs.sb();
        fs.crashed();
        if (sb.mounts.remove(fs)) {
            synchronized (supers) {
                if (--sb.active == 0) {
                    sb.state = VfsSuper.State.CRASHED;
                    supers.remove(sb.device.name(), sb);
                    liveSupers.remove(sb);
                    supers.notifyAll();
                }
            }
        }
    }

    /** The mounted filesystems' fs_info and device, without taking sb_lock (hang reports). */
    java.util.Map<String, org.jbtrfs.transaction.FsInfo> liveFilesystems() {
        java.util.Map<String, org.jbtrfs.transaction.FsInfo> m = new java.util.TreeMap<>();
        for (VfsSuper sb : liveSupers) {
            m.put(sb.device.name(), sb.ctx.fs);
        }
        return m;
    }

    /** Every mount point of every filesystem of this module. */
    public List<Btrfs> mounts() {
        List<Btrfs> l = new ArrayList<>();
        synchronized (supers) {
            for (VfsSuper sb : supers.values()) {
                l.addAll(sb.mounts);
            }
        }
        return l;
    }

    /**
     * kernel: exit_btrfs_fs() — rmmod. Refused (EBUSY) while a filesystem is mounted, like the
     * module's reference count — except after a kernel panic, when nothing can be unmounted and what the
     * mounted filesystems hold is reported as leaked. Reports extent_state leaks (the extent_io leak check), destroys the
     * slab caches (SLUB's "Objects remaining" for each non-empty one) and joins every thread of the
     * module. A second unload is EINVAL.
     */
    public synchronized UnloadReport unload() {
        if (unloaded != null) {
            throw new BtrfsException(Errno.EINVAL, "module " + kernel.name() + " is not loaded");
        }
        synchronized (supers) {
            if (!supers.isEmpty() && kernel.panicked()) {
                // after a panic nothing unmounts: what the filesystems hold is reported as leaked
                supers.values().forEach(VfsSuper::crashed);
                supers.clear();
                liveSupers.clear();
            }
            if (!supers.isEmpty()) {
                throw new BtrfsException(Errno.EBUSY, "module btrfs is in use by mounted filesystems " + supers.keySet());
            }
        }
        List<String> stateLeaks = new ArrayList<>();
        for (SlabObject o : kernel.slabs().cache("extent_state").live()) {
            String line = "BTRFS: state leak: " + (o.tag() != null ? o.tag() : o.toString());
            stateLeaks.add(line);
            kernel.log().log(LogLevel.ERR, LogEntry.Kind.STATE_LEAK, line);
        }
        List<String> alive = new ArrayList<>(workerPool.shutdown());
        List<SlabLeak> leaks = kernel.shutdown();
        for (Thread t : kernel.kthreadd().liveThreads()) {
            alive.add(t.getName());
        }
        for (Thread t : workerPool.liveThreads()) {
            alive.add(t.getName());
        }
        for (BlockDevice d : devices.values()) {
            d.close();
        }
        unloaded = new UnloadReport(leaks, stateLeaks, alive, kernel.log().taints(), kernel.log().entries(),
            List.copyOf(cleanupErrors));
        return unloaded;
    }

    public boolean isLoaded() { return unloaded == null; }

    /** What the unload found (after {@link #unload()} or {@link #close()}), or null while loaded. */
    public UnloadReport lastUnloadReport() { return unloaded; }

    /** Threads of this module still alive (kthreadd's and the kworker pool's). */
    public List<Thread> liveThreads() {
        List<Thread> l = new ArrayList<>(kernel.kthreadd().liveThreads());
        l.addAll(workerPool.liveThreads());
        return l;
    }

    /**
     * The deadlock among this module's tasks right now, if there is one ({@link Deadlock}): the port's wait-for graph
     * over its kernel sleeps ({@code org.jbtrfs.core.kernel.WaitGraph}), counting sleeps older than 50 ms (one just
     * entered may still be publishing what it waits for). A proof, not a timeout: a reproducer of a deadlock can wait
     * for it with Awaitility instead of asserting that threads are "still blocked". Sleeps whose waker is not known (a
     * hook's park, a page lock) are never part of one, so a test that parks a task at a hook sees none
     * through it.
     */
    public java.util.Optional<Deadlock> deadlock() {
        return org.jbtrfs.core.kernel.WaitGraph.find(kernel.sched(), DEADLOCK_MIN_ASLEEP_NANOS)
            .map(d -> new Deadlock(d.stuck().keySet().stream().map(Thread::getName).sorted().toList(), d.cycle(),
                d.describe()));
    }

    /** How old a sleep must be before {@link #deadlock()} counts it (the stress runner's watchdog uses the same). */
    public static final long DEADLOCK_MIN_ASLEEP_NANOS = 50_000_000L;

    private void checkLoaded() {
        kernel.sched().checkPanic();
        if (unloaded != null) {
            throw new BtrfsException(Errno.EINVAL, "module " + kernel.name() + " is not loaded");
        }
    }

    /**
     * Releases every hook (a thread parked at one would block the umount), unmounts whatever is still
     * mounted and unloads. An umount that fails (a kernel BUG or oops in close_ctree, EBUSY for open files,
     * a panicked module) does not stop the clean-up: it is logged, the filesystem is counted as gone, and
     * the error is kept in {@link UnloadReport#cleanupErrors()}.
     */
    @Override
    public void close() {
        if (unloaded != null) {
            return;
        }
        kernel.hooks().reset();
        for (Btrfs fs : mounts()) {
            try {
                fs.umount();
            } catch (RuntimeException e) {
                cleanupErrors.add(e);
                kernel.log().log(LogLevel.ERR, LogEntry.Kind.TEXT, "module close: umount of " + fs.device().name()
                    + " failed: " + e);
                forget(fs);
            }
        }
        unload();
    }
}
