package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FlakeyBlockDevice;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.Role;
import org.jbtrfs.fs.tools.Check;
import org.jbtrfs.fs.tools.DumpTree;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The README's table "Errors a user can get", row by row: each bad call gets its documented answer — a
 * BtrfsException with the kernel's errno and message, or IllegalArgumentException naming the argument — and
 * afterwards the module is still usable: a normal mount, create and umount work and nothing of the bad call
 * keeps running.
 */
class BadInputTableTest {

    /** What a row may use: a module with a formatted device "sdc", a mount of it made on demand, a temp dir. */
    static final class Ctx {
        final Repro r;
        final Path tmp;
        private Btrfs fs;

        Ctx(Repro r, Path tmp) {
            this.r = r;
            this.tmp = tmp;
        }

        BtrfsModule mod() { return r.mod; }

        BlockDevice dev() { return r.dev; }

        Btrfs fs() {
            if (fs == null) {
                fs = r.mount("");
            }
            return fs;
        }

        /** The mount, with the kthreads settled (the transaction kthread's first wake of the cleaner is over). */
        Btrfs fsSettled() {
            if (fs == null) {
                fs = r.mountSettled("");
            }
            return fs;
        }

        /** A mount that was unmounted again. */
        Btrfs gone() {
            Btrfs f = r.mount("");
            f.umount();
            return f;
        }
    }

    record Row(String call, Errno errno, Class<? extends Exception> type, String text, Consumer<Ctx> op) {
        @Override
        public String toString() { return call + " → " + (errno != null ? errno : type.getSimpleName()); }
    }

    private static Row row(String call, Errno errno, String text, Consumer<Ctx> op) { return new Row(call, errno, null, text, op); }

    private static Row iae(String call, String text, Consumer<Ctx> op) {
        return new Row(call, null, IllegalArgumentException.class, text, op);
    }

    static Stream<Row> rows() {
        List<Row> l = new ArrayList<>();
        // ---- the module and its devices
        l.add(iae("BtrfsModule.load(null)", "config must not be null", c -> BtrfsModule.load(null)));
        l.add(iae("createDevice(null, size)", "name must not be null", c -> c.mod().createDevice(null, 64L << 20)));
        l.add(iae("createDevice(\"\", size)", "name must not be blank", c -> c.mod().createDevice(" ", 64L << 20)));
        l.add(iae("createDevice(\"a/b\", size)", "name must not contain '/'", c -> c.mod().createDevice("a/b", 64L << 20)));
        l.add(iae("createDevice(name, 0)", "positive multiple of 512", c -> c.mod().createDevice("sdd", 0)));
        l.add(iae("createDevice(name, -512)", "positive multiple of 512", c -> c.mod().createDevice("sdd", -512)));
        l.add(iae("createDevice(name, 1000)", "positive multiple of 512", c -> c.mod().createDevice("sdd", 1000)));
        l.add(row("createDevice(existing name)", Errno.EEXIST, "device sdc already exists", c -> c.mod().createDevice("sdc", 64L << 20)));
        l.add(iae("createFileDevice(name, null, size)", "file must not be null", c -> c.mod().createFileDevice("sdd", null, 1L << 20)));
        l.add(row("createFileDevice(name, a directory, size)", Errno.EISDIR, "Is a directory",
            c -> c.mod().createFileDevice("sdd", c.tmp, 1L << 20)));
        l.add(row("createFileDevice(name, in a missing directory, size)", Errno.ENOENT, "No such file or directory",
            c -> c.mod().createFileDevice("sdd", c.tmp.resolve("nodir/img"), 1L << 20)));
        l.add(row("createFileDevice(name, below a regular file, size)", Errno.ENOTDIR, "Not a directory", c -> {
            try {
                Files.writeString(c.tmp.resolve("plain"), "x");
            } catch (java.io.IOException e) {
                throw new AssertionError(e);
            }
            c.mod().createFileDevice("sdd", c.tmp.resolve("plain/img"), 1L << 20);
        }));
        l.add(iae("createFlakeyDevice(name, null)", "backing must not be null", c -> c.mod().createFlakeyDevice("flakey", null)));
        l.add(iae("createFlakeyDevice(null, dev)", "name must not be null", c -> c.mod().createFlakeyDevice(null, c.dev())));
        l.add(iae("mkfs(null)", "dev must not be null", c -> c.mod().mkfs(null)));
        l.add(row("mkfs(device below 32 MiB)", Errno.EINVAL, "is too small", c -> c.mod().mkfs(c.mod().createDevice("sdd", 16L << 20))));
        l.add(row("mkfs(dev, label of 256 bytes)", Errno.EINVAL, "label is too long", c -> c.mod().mkfs(c.dev(), "l".repeat(256))));
        l.add(row("mkfs(mounted device)", Errno.EBUSY, "sdc is mounted", c -> c.mod().mkfs(c.fs().device())));
        l.add(iae("mount(null, options)", "dev must not be null", c -> c.mod().mount(null, "")));
        l.add(row("mount(dev, \"nosuchopt\")", Errno.EINVAL, "unrecognized mount option 'nosuchopt'", c -> c.mod().mount(c.dev(), "nosuchopt")));
        l.add(row("mount(dev, \"commit=abc\")", Errno.EINVAL, "unrecognized commit_interval value 'abc'", c -> c.mod().mount(c.dev(), "commit=abc")));
        l.add(row("mount(dev, \"compress=lz4\")", Errno.EINVAL, "unrecognized compression value 'lz4'", c -> c.mod().mount(c.dev(), "compress=lz4")));
        l.add(row("mount(dev, \"thread_pool=0\")", Errno.EINVAL, "invalid value 0 for thread_pool", c -> c.mod().mount(c.dev(), "thread_pool=0")));
        l.add(row("mount(dev, \"thread_pool=2^32\")", Errno.ERANGE, "thread_pool value out of range",
            c -> c.mod().mount(c.dev(), "thread_pool=4294967296")));
        l.add(row("mount(dev, \"thread_pool=-1\")", Errno.EINVAL, "unrecognized mount option 'thread_pool=-1'",
            c -> c.mod().mount(c.dev(), "thread_pool=-1")));
        l.add(row("remount(\"thread_pool=0\")", Errno.EINVAL, "invalid value 0 for thread_pool", c -> c.fs().remount("thread_pool=0")));
        l.add(row("mount(blank device)", Errno.EINVAL, "no valid btrfs found on sdd",
            c -> c.mod().mount(c.mod().createDevice("sdd", 64L << 20), "")));
        l.add(row("mount(dev, \"subvol=nosuch\")", Errno.ENOENT, "no such file or directory: 'nosuch'", c -> c.mod().mount(c.dev(), "subvol=nosuch")));
        l.add(row("mount(dev, \"subvolid=abc\")", Errno.EINVAL, "invalid subvolid value 'abc'", c -> c.mod().mount(c.dev(), "subvolid=abc")));
        l.add(row("mount(dev, \"subvolid=2^64\")", Errno.ERANGE, "out of range", c -> c.mod().mount(c.dev(), "subvolid=18446744073709551616")));
        l.add(row("mount(dev, \"subvolid=9999\")", Errno.ENOENT, "no subvolume with id 9999", c -> c.mod().mount(c.dev(), "subvolid=9999")));
        l.add(row("unload() while mounted", Errno.EBUSY, "in use by mounted filesystems [sdc]", c -> {
            c.fs();
            c.mod().unload();
        }));

        // ---- paths
        l.add(iae("createFile(null)", "path must not be null", c -> c.fs().createFile(null)));
        l.add(row("createFile(\"\")", Errno.ENOENT, "empty path", c -> c.fs().createFile("")));
        l.add(row("createFile(256-byte name)", Errno.ENAMETOOLONG, "NAME_MAX 255", c -> c.fs().createFile("n".repeat(256))));
        l.add(row("open(path of 4096 bytes)", Errno.ENAMETOOLONG, "PATH_MAX", c -> c.fs().open("p/".repeat(2048))));
        l.add(row("createFile(\"a/../b\")", Errno.EINVAL, "'.' and '..' are not supported", c -> c.fs().createFile("a/../b")));
        l.add(row("open(missing)", Errno.ENOENT, "no such file or directory: 'nope'", c -> c.fs().open("nope")));
        l.add(row("createFile(existing)", Errno.EEXIST, "file exists: 'f'", c -> {
            c.fs().createFile("f");
            c.fs().createFile("f");
        }));
        l.add(row("createFile(\"file/x\")", Errno.ENOTDIR, "not a directory: 'f'", c -> {
            c.fs().createFile("f");
            c.fs().createFile("f/x");
        }));
        l.add(row("open(directory)", Errno.EISDIR, "is a directory: 'd'", c -> {
            c.fs().mkdir("d");
            c.fs().open("d");
        }));
        l.add(row("unlink(directory)", Errno.EISDIR, "is a directory: 'd'", c -> {
            c.fs().mkdir("d");
            c.fs().unlink("d");
        }));
        l.add(row("rmdir(non-empty)", Errno.ENOTEMPTY, "directory not empty: 'd'", c -> {
            c.fs().mkdir("d");
            c.fs().createFile("d/f");
            c.fs().rmdir("d");
        }));
        l.add(row("rmdir(file)", Errno.ENOTDIR, "not a directory: 'f'", c -> {
            c.fs().createFile("f");
            c.fs().rmdir("f");
        }));
        l.add(row("rmdir(\"/\")", Errno.EBUSY, "the mount's root", c -> c.fs().rmdir("/")));
        l.add(row("deleteSubvolume(directory)", Errno.EINVAL, "not a subvolume: 'd'", c -> {
            c.fs().mkdir("d");
            c.fs().deleteSubvolume("d");
        }));
        l.add(row("deleteSubvolume(file)", Errno.ENOTDIR, "not a directory: 'f'", c -> {
            c.fs().createFile("f");
            c.fs().deleteSubvolume("f");
        }));
        l.add(row("deleteSubvolume(with a subvolume inside)", Errno.ENOTEMPTY, "has subvolumes of its own", c -> {
            c.fs().createSubvolume("sv");
            c.fs().createSubvolume("sv/inner");
            c.fs().deleteSubvolume("sv");
        }));
        l.add(iae("writeFile(path, null)", "data must not be null", c -> {
            c.fs().createFile("f");
            c.fs().writeFile("f", null);
        }));

        // ---- state
        l.add(row("createFile on a read-only mount", Errno.EROFS, "Read-only file system", c -> c.mod().mount(c.dev(), "ro").createFile("f")));
        l.add(row("umount with a file open", Errno.EBUSY, "target is busy", c -> {
            c.fs().createFile("f");
            FileHandle fh = c.fs().open("f");
            try {
                c.fs().umount();
            } finally {
                fh.close();
            }
        }));
        l.add(row("quotaRescan with quotas off", Errno.EINVAL, "qgroup is not enabled", c -> c.fs().quotaRescan()));
        l.add(row("scrubCancel with no scrub running", Errno.ENOTCONN, "no scrub running on sdc", c -> c.fs().scrubCancel()));
        l.add(row("scrub(false) on a read-only mount", Errno.EROFS, "Read-only file system (sdc)", c -> {
            c.fs().umount();
            c.mod().mount(c.dev(), "ro").scrub(false);
        }));
        l.add(row("close() twice", Errno.EBADF, "already closed", c -> {
            c.fs().createFile("f");
            FileHandle fh = c.fs().open("f");
            fh.close();
            fh.close();
        }));
        l.add(row("write on a closed handle", Errno.EBADF, "is closed", c -> {
            c.fs().createFile("f");
            FileHandle fh = c.fs().open("f");
            fh.close();
            fh.write(new byte[1]);
        }));
        l.add(row("runCleanerPass(ZERO) while the cleaner is held mid-pass", Errno.ETIMEDOUT, "did not go to sleep within PT0S", c -> {
            Btrfs fs = c.fsSettled();
            c.mod().hooks().parkAt(Hook.CLEANER_BEFORE_CLEAR_RUNNING, Role.CLEANER);
            assertTrue(fs.wakeCleaner());
            c.mod().hooks().awaitParked(Hook.CLEANER_BEFORE_CLEAR_RUNNING, Repro.WAIT);
            try {
                fs.runCleanerPass(Duration.ZERO);
            } finally {
                c.mod().hooks().reset();
            }
        }));
        l.add(row("subvolumeSync(ZERO) with a deleted subvolume not dropped", Errno.ETIMEDOUT, "not dropped within PT0S", c -> {
            Btrfs fs = c.fsSettled(); // the manual clock: nothing wakes the cleaner
            fs.createSubvolume("sv");
            fs.deleteSubvolume("sv");
            fs.subvolumeSync(Duration.ZERO);
        }));
        l.add(iae("runCleanerPass(null)", "timeout must not be null", c -> c.fs().runCleanerPass(null)));
        l.add(row("freeze() of a frozen filesystem", Errno.EBUSY, "sdc is already frozen", c -> {
            c.fs().freeze();
            try {
                c.fs().freeze();
            } finally {
                c.fs().thaw();
            }
        }));
        l.add(row("thaw() of a filesystem not frozen", Errno.EINVAL, "sdc is not frozen", c -> c.fs().thaw()));
        l.add(row("remount() of a frozen filesystem", Errno.EBUSY, "sdc is frozen", c -> {
            c.fs().freeze();
            try {
                c.fs().remount("ro");
            } finally {
                c.fs().thaw();
            }
        }));
        l.add(iae("subvolumeSync(negative)", "timeout must not be negative", c -> c.fs().subvolumeSync(Duration.ofSeconds(-1))));
        l.add(iae("waitSync(negative)", "transid must not be negative", c -> c.fs().waitSync(-1)));
        l.add(row("waitSync of a transaction that does not exist yet", Errno.EINVAL, "does not exist", c -> c.fs().waitSync(1_000_000)));
        // after umount: every operation but the introspection
        for (String op : List.of("createFile", "mkdir", "unlink", "open", "list", "fileSize", "readFile", "sync", "remount", "umount",
            "createSubvolume", "deleteSubvolume", "subvolumeSync", "quotaEnable", "quotaRescan", "quotaRescanWait", "rescanStatus",
            "awaitRescanIdle", "qgroupUsage", "qgroupStatusFlags", "qgroupRescanRunning", "wakeCleaner", "runCleanerPass",
            "freeze", "thaw", "isFrozen", "scrub", "scrubCancel", "startSync", "waitSync")) {
            l.add(row(op + " after umount", Errno.EINVAL, "sdc is not mounted", c -> afterUmount(c.gone(), op)));
        }
        // after unload
        l.add(row("createDevice after unload", Errno.EINVAL, "is not loaded", c -> {
            c.mod().unload();
            c.mod().createDevice("sdd", 64L << 20);
        }));
        l.add(row("mount after unload", Errno.EINVAL, "is not loaded", c -> {
            c.mod().unload();
            c.mod().mount(c.dev(), "");
        }));
        l.add(row("unload twice", Errno.EINVAL, "is not loaded", c -> {
            c.mod().unload();
            c.mod().unload();
        }));

        // ---- configuration, hooks, faults, devices, tools
        l.add(iae("KernelConfig.crc32c(null)", "crc32c must not be null", c -> KernelConfig.defaults().crc32c(null)));
        l.add(iae("KernelConfig.clock(null)", "clock must not be null", c -> KernelConfig.defaults().clock(null)));
        l.add(iae("KernelConfig.version(null)", "version must not be null", c -> KernelConfig.defaults().version(null)));
        l.add(iae("KernelConfig.profile(null)", "version must not be null", c -> KernelConfig.profile(null)));
        l.add(iae("KernelConfig.revert((FixSwitch) null)", "must not be null", c -> KernelConfig.defaults().revert((FixSwitch) null)));
        l.add(iae("KernelConfig.applied(null)", "fix switch must not be null", c -> KernelConfig.defaults().applied(null)));
        l.add(iae("KernelConfig.workerThreads(0)", "worker threads must be 1..64", c -> KernelConfig.defaults().workerThreads(0)));
        l.add(iae("KernelConfig.logCapacity(1)", "at least 16", c -> KernelConfig.defaults().logCapacity(1)));
        l.add(iae("Hooks.arm(null, action)", "hook must not be null", c -> c.mod().hooks().arm(null, HookAction.count())));
        l.add(iae("Hooks.arm(hook, null)", "action must not be null", c -> c.mod().hooks().arm(Hook.UMOUNT_START, null)));
        l.add(iae("Hooks.arm(hook, action, 0)", "times must be positive or -1", c -> c.mod().hooks().arm(Hook.UMOUNT_START, HookAction.count(), 0)));
        l.add(iae("Hooks.parkAt(null)", "hook must not be null", c -> c.mod().hooks().parkAt(null)));
        l.add(iae("Hooks.awaitParked(hook, null)", "timeout must not be null", c -> c.mod().hooks().awaitParked(Hook.UMOUNT_START, null)));
        l.add(iae("HookAction.delay(-1)", "negative delay", c -> HookAction.delay(-1)));
        l.add(iae("HookAction.run(null)", "callback must not be null", c -> HookAction.run(null)));
        l.add(iae("HookAction.onlyFor(null)", "roles must not be null", c -> HookAction.park().onlyFor(null)));
        l.add(iae("Faults.armOnce(null)", "fault must not be null", c -> c.mod().faults().armOnce(null)));
        l.add(iae("Faults.arm(fault, 0)", "times must be positive", c -> c.mod().faults().arm(Fault.COMMIT_TRANSACTION_EIO, 0)));
        l.add(iae("Faults.armProbability(fault, 2, seed)", "probability must be in [0,1]",
            c -> c.mod().faults().armProbability(Fault.COMMIT_TRANSACTION_EIO, 2, 1)));
        l.add(iae("new FlakeyBlockDevice(\" \", dev)", "name must not be blank", c -> new FlakeyBlockDevice(" ", c.dev())));
        l.add(row("BlockDevice.read beyond its end", Errno.EIO, "access beyond end of device sdc",
            c -> c.dev().read(c.dev().size() - 1, new byte[2], 0, 2)));
        l.add(iae("BlockDevice.write(null buffer)", "buffer must not be null", c -> c.dev().write(0, null, 0, 1)));
        l.add(iae("DumpTree.read(null)", "dev must not be null", c -> DumpTree.read(null)));
        l.add(iae("Check.check(null)", "dev must not be null", c -> Check.check(null)));
        l.add(row("DumpTree.read(blank device)", Errno.EINVAL, "no valid btrfs found", c -> DumpTree.read(c.mod().createDevice("sdd", 64L << 20))));
        l.add(row("DumpTree.items(no such tree)", Errno.ENOENT, "no tree 77", c -> DumpTree.read(c.dev()).items(77)));
        return l.stream();
    }

    /** One API call on an unmounted filesystem. */
    private static void afterUmount(Btrfs fs, String op) {
        switch (op) {
            case "createFile" -> fs.createFile("x");
            case "mkdir" -> fs.mkdir("x");
            case "unlink" -> fs.unlink("x");
            case "open" -> fs.open("x");
            case "list" -> fs.list();
            case "fileSize" -> fs.fileSize("x");
            case "readFile" -> fs.readFile("x");
            case "sync" -> fs.sync();
            case "remount" -> fs.remount("ro");
            case "umount" -> fs.umount();
            case "freeze" -> fs.freeze();
            case "thaw" -> fs.thaw();
            case "isFrozen" -> fs.isFrozen();
            case "createSubvolume" -> fs.createSubvolume("x");
            case "deleteSubvolume" -> fs.deleteSubvolume("x");
            case "subvolumeSync" -> fs.subvolumeSync(Duration.ZERO);
            case "quotaEnable" -> fs.quotaEnable();
            case "quotaRescan" -> fs.quotaRescan();
            case "quotaRescanWait" -> fs.quotaRescanWait();
            case "rescanStatus" -> fs.rescanStatus();
            case "awaitRescanIdle" -> fs.awaitRescanIdle(Duration.ZERO);
            case "qgroupUsage" -> fs.qgroupUsage();
            case "qgroupStatusFlags" -> fs.qgroupStatusFlags();
            case "qgroupRescanRunning" -> fs.qgroupRescanRunning();
            case "wakeCleaner" -> fs.wakeCleaner();
            case "runCleanerPass" -> fs.runCleanerPass(Duration.ZERO);
            case "scrub" -> fs.scrub(true);
            case "scrubCancel" -> fs.scrubCancel();
            case "startSync" -> fs.startSync();
            case "waitSync" -> fs.waitSync(0);
            default -> throw new AssertionError(op);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void everyBadCallGetsItsAnswerAndTheModuleStaysUsable(Row row, @TempDir Path tmp) {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Ctx c = new Ctx(r, tmp);
            Exception e = assertThrows(Exception.class, () -> row.op().accept(c), row.call());
            if (row.errno() != null) {
                BtrfsException be = assertInstanceOf(BtrfsException.class, e, row.call());
                assertEquals(row.errno(), be.errno(), be.getMessage());
            } else {
                assertInstanceOf(row.type(), e, row.call() + ": " + e);
            }
            assertTrue(e.getMessage().contains(row.text()), row.call() + ": " + e.getMessage());

            if (!r.mod.isLoaded()) {
                return; // the unload rows: nothing left to use, by design
            }
            for (Btrfs fs : r.mod.mounts()) {
                fs.umount();
            }
            assertTrue(Repro.noKthreadRuns(r.mod), "nothing of " + row.call() + " keeps running");
            Btrfs fs = r.mount("");
            fs.createFile("after");
            fs.umount();
            assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
        }
    }
}
