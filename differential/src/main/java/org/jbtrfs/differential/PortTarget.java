package org.jbtrfs.differential;

import org.jbtrfs.fs.internal.Internals;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FlakeyBlockDevice;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.disk.ExtentItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.QgroupInfoItem;
import org.jbtrfs.core.disk.QgroupStatusItem;
import org.jbtrfs.core.disk.RootItem;
import org.jbtrfs.core.disk.SuperBlock;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.BtrfsModule;
import org.jbtrfs.fs.FileHandle;
import org.jbtrfs.fs.tools.DumpTree;

/**
 * The port as a target: a loaded {@link BtrfsModule} with an in-memory device behind a
 * {@link FlakeyBlockDevice} (the {@code crash} step drops writes from then on, as fstests' dm-flakey
 * does), observed through {@link DumpTree} (the device), the module's kernel log, the qgroup API and
 * {@code inspect()}.
 */
public final class PortTarget implements Target {
    /** How long a wait for the cleaner or the rescan may take before the step fails. */
    static final Duration WAIT = Duration.ofSeconds(60);
    private static final byte[] BLOCK = new byte[4096];

    private final BtrfsModule mod;
    private final String name;
    private BlockDevice disk;
    private FlakeyBlockDevice dev;
    private Btrfs fs;
    /** The last filesystem mounted, for inspect() after its umount. */
    private Btrfs last;
    private final Map<String, FileHandle> handles = new HashMap<>();
    private int devices;

    /** The port with {@code config} (the fixes it applies say which kernel it models). */
    public PortTarget(KernelConfig config) {
        this.mod = BtrfsModule.load(config);
        Set<FixSwitch> reverted = config.revertedFixes();
        this.name = "port (" + config.version().label() + " code paths, " + (reverted.isEmpty() ? "every fix" : "reverted " + reverted)
            + (config.latency().equals(org.jbtrfs.core.LatencyModel.NONE) ? "" : ", latency model " + config.latency()) + ")";
    }

    public PortTarget() { this(KernelConfig.defaults()); }

    @Override public String name() { return name; }

    /** The loaded module (for tests). */
    public BtrfsModule module() { return mod; }

    // ---- lifecycle -------------------------------------------------------------------------------

    @Override public void mkfs(long bytes) {
        devices++;
        disk = call(() -> mod.createDevice("sdc" + devices, bytes));
        dev = call(() -> mod.createFlakeyDevice("flakey" + devices, disk));
        call(() -> mod.mkfs(dev));
    }

    @Override public void mount(String options) {
        fs = call(() -> mod.mount(dev, options));
        last = fs;
    }

    @Override public void remount(String options) { call(() -> fs().remount(options)); }

    @Override public void umount() {
        call(() -> fs().umount());
        fs = null;
    }

    // ---- operations ------------------------------------------------------------------------------

    @Override public long createSubvolume(String n) { return call(() -> fs().createSubvolume(n)); }

    @Override public void deleteSubvolume(String n) { call(() -> fs().deleteSubvolume(n)); }

    /**
     * btrfs subvolume sync: the subvolumes with an orphan item now are waited for until their root items
     * are gone. The cleaner is woken on each poll, as {@code btrfs filesystem sync} would (the kernel
     * target does that first); a drop that never finishes fails the step after {@link #WAIT}.
     */
    @Override public void subvolumeSync() {
        Btrfs f = fs();
        List<Long> pending = f.inspect().rootOrphans();
        await("deleted subvolumes " + pending + " dropped", () -> {
            f.wakeCleaner();
            Map<Long, Integer> roots = f.inspect().rootItems();
            return pending.stream().noneMatch(roots::containsKey);
        });
    }

    @Override public void createFile(String path) { call(() -> fs().createFile(path)); }

    @Override public void unlink(String path) { call(() -> fs().unlink(path)); }

    @Override public void write(String path, int bytes) { call(() -> fs().writeFile(path, new byte[bytes])); }

    /**
     * {@code count} appends of 4 KiB, each written back on its own (sync_file_range): one ordered extent and
     * so one data extent each (contiguous appends left in the page cache would become a single extent).
     */
    @Override public void extents(String path, int count) {
        Btrfs f = fs();
        call(() -> {
            try {
                f.createFile(path);
            } catch (BtrfsException e) {
                if (e.errno() != Errno.EEXIST) {
                    throw e;
                }
            }
            try (FileHandle h = f.open(path)) {
                for (int i = 0; i < count; i++) {
                    h.write(BLOCK);
                    h.syncFileRange();
                }
            }
        });
    }

    @Override public void files(String dir, int count) {
        Btrfs f = fs();
        call(() -> {
            for (int i = 0; i < count; i++) {
                f.createFile(dir + "/f" + i);
            }
        });
    }

    @Override public void open(String handle, String path) { handles.put(handle, call(() -> fs().open(path))); }

    @Override public void close(String handle) {
        FileHandle h = handles.remove(handle);
        if (h == null) {
            throw new TargetException("handle '" + handle + "' is not open");
        }
        call(h::close);
    }

    @Override public void quotaEnable() { call(() -> fs().quotaEnable()); }

    @Override public void quotaRescan() { call(() -> fs().quotaRescan()); }

    @Override public void quotaRescanWait() { call(() -> fs().quotaRescanWait()); }

    @Override public void sync() { call(() -> fs().sync()); }

    /** kernel: BTRFS_IOC_SYNC — sync the filesystem, then wake the transaction kthread (which wakes the cleaner). */
    @Override public void fsSync() {
        Btrfs f = fs();
        call(f::sync);
        Internals.fsInfo(f).transactionKthread().wakeUpProcess();
    }

    @Override public void freeze() { call(() -> fs().freeze()); }

    @Override public void thaw() { call(() -> fs().thaw()); }

    @Override public void crash() { dev.dropWrites(); }

    @Override public void recover() {
        if (fs != null) {
            throw new TargetException("recover while mounted");
        }
        dev.allowWrites();
    }

    // ---- observations ----------------------------------------------------------------------------

    @Override public RootTreeFacts rootTree() {
        DumpTree d = call(() -> DumpTree.read(disk));
        Map<Long, RootTreeFacts.Root> roots = new LinkedHashMap<>();
        Set<Long> orphans = new HashSet<>();
        for (DumpTree.Item it : d.items(ItemType.ROOT_TREE_OBJECTID)) {
            long id = it.key().objectid();
            if (it.key().type() == ItemType.ROOT_ITEM && isSubvolume(id) && it.value() instanceof RootItem r) {
                roots.put(id, new RootTreeFacts.Root(r.refs(), !r.dropProgress().equals(org.jbtrfs.core.disk.Key.MIN)));
            } else if (it.key().type() == ItemType.ORPHAN_ITEM && id == ItemType.ORPHAN_OBJECTID) {
                orphans.add(it.key().offset());
            }
        }
        return new RootTreeFacts(roots, orphans);
    }

    static boolean isSubvolume(long id) {
        return id == ItemType.FS_TREE_OBJECTID
            || Long.compareUnsigned(id, ItemType.FIRST_FREE_OBJECTID) >= 0 && Long.compareUnsigned(id, ItemType.LAST_FREE_OBJECTID) <= 0;
    }

    /**
     * The quota tree, and (when not mounted, as btrfs check wants it on the kernel side) each level-0 qgroup
     * checked against a recount of the extent tree by owner (the port's accounting).
     */
    @Override public QuotaFacts quota() {
        DumpTree d = call(() -> DumpTree.read(disk));
        boolean hasQuota = d.trees().stream().anyMatch(t -> t.id() == ItemType.QUOTA_TREE_OBJECTID);
        if (!hasQuota) {
            return new QuotaFacts(null, Map.of(), Map.of());
        }
        String status = null;
        Map<Long, QuotaFacts.Numbers> numbers = new LinkedHashMap<>();
        for (DumpTree.Item it : d.items(ItemType.QUOTA_TREE_OBJECTID)) {
            if (it.value() instanceof QgroupStatusItem s) {
                status = statusFlags(s.flags());
            } else if (it.value() instanceof QgroupInfoItem q && it.key().offset() >>> 48 == 0) {
                numbers.put(it.key().offset(), new QuotaFacts.Numbers(q.rfer(), q.excl()));
            }
        }
        Map<Long, Long> recount = new HashMap<>();
        for (DumpTree.Item it : d.items(ItemType.EXTENT_TREE_OBJECTID)) {
            if (it.value() instanceof ExtentItem e) {
                long len = it.key().type() == ItemType.METADATA_ITEM ? SuperBlock.NODESIZE : it.key().offset();
                recount.merge(e.ownerRoot(), len, Long::sum);
            }
        }
        Map<Long, Boolean> consistent = new LinkedHashMap<>();
        if (fs != null) {
            return new QuotaFacts(status == null ? "no status item" : status, numbers, consistent);
        }
        numbers.forEach((id, n) -> {
            long r = recount.getOrDefault(id, 0L);
            consistent.put(id, n.rfer() == r && n.excl() == r);
        });
        return new QuotaFacts(status == null ? "no status item" : status, numbers, consistent);
    }

    /** As dump-tree prints qgroup status flags. */
    static String statusFlags(long flags) {
        List<String> f = new ArrayList<>();
        if ((flags & QgroupStatusItem.FLAG_ON) != 0) {
            f.add("ON");
        }
        if ((flags & QgroupStatusItem.FLAG_RESCAN) != 0) {
            f.add("RESCAN");
        }
        if ((flags & QgroupStatusItem.FLAG_INCONSISTENT) != 0) {
            f.add("INCONSISTENT");
        }
        return f.isEmpty() ? "OFF" : String.join("|", f);
    }

    @Override public long dmesgMark() { return mod.log().mark(); }

    @Override public List<String> dmesgSince(long mark) {
        return mod.log().since(mark).stream().map(LogEntry::message).toList();
    }

    @Override public List<String> healthProblems(long mark) {
        return mod.log().since(mark).stream().filter(e -> e.kind() != LogEntry.Kind.TEXT || isProblem(e.message()))
            .map(LogEntry::message).toList();
    }

    /** A text line that is a problem report all the same (the kernel prints these with pr_err / btrfs_err). */
    static boolean isProblem(String message) {
        return message.contains("WARNING:") || message.contains("BUG") || message.contains("assertion failed")
            || message.contains("leak") || message.contains("Oops") || message.contains("Transaction aborted");
    }

    /** kernel: BTRFS_IOC_QUOTA_RESCAN_STATUS reports the RESCAN status flag (running or paused), not the worker. */
    @Override public boolean rescanRunning() { return (fs().qgroupStatusFlags() & QgroupStatusItem.FLAG_RESCAN) != 0; }

    @Override public OptionalInt openTransactions() {
        return last == null ? OptionalInt.empty() : OptionalInt.of(last.inspect().openTransactions().size());
    }

    @Override public void close() {
        for (FileHandle h : handles.values()) {
            try {
                h.close();
            } catch (RuntimeException ignored) {
                // the filesystem may be gone already; the module's close reports what is left
            }
        }
        handles.clear();
        mod.close();
    }

    // ---- plumbing --------------------------------------------------------------------------------

    private Btrfs fs() {
        if (fs == null) {
            throw new TargetException("nothing is mounted");
        }
        return fs;
    }

    private static <T> T call(Supplier<T> op) {
        try {
            return op.get();
        } catch (BtrfsException e) {
            throw new TargetException(e.getMessage(), e);
        }
    }

    private static void call(Runnable op) {
        call(() -> {
            op.run();
            return null;
        });
    }

    /** Polls {@code condition} every millisecond until it holds; fails the step after {@link #WAIT}. */
    static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new TargetException("timed out after " + WAIT.toSeconds() + " s waiting for " + what);
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new TargetException("interrupted waiting for " + what);
            }
        }
    }
}
