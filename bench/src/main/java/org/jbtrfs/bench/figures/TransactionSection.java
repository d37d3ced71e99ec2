package org.jbtrfs.bench.figures;

import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.jbtrfs.bench.InsertBenchmark;
import org.jbtrfs.bench.figures.JmhResults.Result;

/** Inserts, commits and the mkfs + mount + umount lifecycle. */
final class TransactionSection extends JmhSection {
    private final Optional<Result> ascending, random, c10, c100, c1000, lifecycle, mkfs, mountUmount;

    TransactionSection(Inputs in) {
        super(in);
        ascending = jmh.find("InsertBenchmark.insert100kItemsInOneTransaction", "keys", "ascending");
        random = jmh.find("InsertBenchmark.insert100kItemsInOneTransaction", "keys", "random");
        c10 = jmh.find("CommitBenchmark.commit", "dirty", "10");
        c100 = jmh.find("CommitBenchmark.commit", "dirty", "100");
        c1000 = jmh.find("CommitBenchmark.commit", "dirty", "1000");
        lifecycle = jmh.find("LifecycleBenchmark.mkfsMountUmount");
        mkfs = jmh.find("LifecycleBenchmark.mkfs");
        mountUmount = jmh.find("LifecycleBenchmark.mountUmount");
    }

    /** Items per second from ns per item. */
    private static String itemsPerSecond(Optional<Result> r) {
        return r.map(x -> Fmt.millions(1e9 / x.score()) + " items/s").orElse(Inputs.NOT_RUN);
    }

    private static String ms(Optional<Result> r) {
        return r.map(x -> Fmt.num(x.score() / 1000) + " ms").orElse(Inputs.NOT_RUN);
    }

    @Override
    public String doc() {
        String items = String.format(Locale.ROOT, "%,d", InsertBenchmark.ITEMS);
        var ins = newRows();
        ins.add(row("`Trees.insert`, " + items + " items in one transaction, ascending keys (per item)", ascending));
        ins.add(row("`Trees.insert`, " + items + " items in one transaction, random keys (per item)", random));
        var commit = newRows();
        commit.add(row("commit, 10 dirty tree blocks", c10));
        commit.add(row("commit, 100 dirty tree blocks", c100));
        commit.add(row("commit, 1000 dirty tree blocks", c1000));
        var life = newRows();
        life.add(row("mkfs + mount + umount, 256 MiB in-memory device", lifecycle));
        life.add(row("of which mkfs", mkfs));
        life.add(row("of which mount + umount (commit_super of an empty transaction)", mountUmount));
        return "## Transactions (`InsertBenchmark`, `CommitBenchmark`, `LifecycleBenchmark`)\n\n"
            + "The insert and commit cases run in a module on a `ManualClock`, so the transaction kthread never\n"
            + "commits in the middle of a measurement; every module is checked to unload clean (no WARNING, no\n"
            + "slab or state leak, no thread left) at the end of its trial.\n\n"
            + "### Inserts\n\n"
            + "Per invocation, untimed: mkfs and mount a fresh 256 MiB in-memory device, start one transaction.\n"
            + "Timed: " + items + " `Trees.insert` calls of 32-byte items into the default subvolume's tree, keys ascending\n"
            + "or the same keys shuffled: the CoW B-tree path with its splits, tree-block allocation, delayed refs and\n"
            + "dirtying. Untimed again: commit and umount.\n\n"
            + table(ins) + "\n"
            + derived(v -> "In items per second: ascending " + itemsPerSecond(ascending) + ", random " + itemsPerSecond(random)
                + "; a random key costs " + Fmt.times(v[1] / v[0]) + " an ascending one.\n", List.of(ascending, random))
            + "Random keys land each insert in a different leaf (cache misses on 16 KiB buffers, and more splits,\n"
            + "since an ascending load fills each leaf before splitting at its end). Each leaf is allocated (or\n"
            + "COWed) once per transaction and later inserts modify it in place, so the per-item cost is mostly\n"
            + "the search and the memmove inside the leaf.\n\n"
            + "### Commit\n\n"
            + "One mounted filesystem on a 1 GiB device with a committed fs tree of 12,000 items of 3,000 bytes (a\n"
            + "few per leaf). Before each commit, untimed, one transaction updates items in place, in key order from\n"
            + "where the previous one stopped, until the btree inode holds exactly N dirty extent buffers (leaves\n"
            + "plus the nodes above them). Timed: `Transactions.commit` — running the delayed ref heads into the\n"
            + "extent tree, rewriting root and block group items until nothing changes, switching the commit\n"
            + "roots, checksumming and writing every dirty block synchronously, the superblock, unpinning.\n\n"
            + table(commit) + "\n"
            + derived(v -> "Per dirty block beyond 100 in this run: " + Fmt.num((v[1] - v[0]) / 900) + " µs. ", List.of(c100, c1000))
            + "Per dirty block the commit runs two delayed ref heads (the new block's insert into the extent tree, the old block's delete),\n"
            + "copies the buffer for the write (the write works on a snapshot so the next transaction can go on),\n"
            + "checksums 16 KiB and copies it into the in-memory device. Default JVM heap settings: a young\n"
            + "collection that lands inside a commit shows in the error bars.\n\n"
            + "### mkfs + mount + umount\n\n"
            + "The full lifecycle through the public API (`BtrfsModule.mkfs`, `mount(dev, \"\")`, `Btrfs.umount()`)\n"
            + "on one 256 MiB in-memory device and the real clock: the cleaner and transaction kthreads (from the\n"
            + "kthreadd pool), the 16 workqueues, reading the trees and block groups, and close_ctree's commit\n"
            + "of an empty transaction. Loading and unloading the module is not in it (see *Fixture cost*).\n\n"
            + table(life);
    }

    @Override
    public List<Row> rows() {
        String items = String.format(Locale.ROOT, "%,d", InsertBenchmark.ITEMS);
        return List.of(
            new Row(items + " items inserted in one transaction", itemsPerSecond(random) + " (random keys), "
                + itemsPerSecond(ascending) + " (ascending)"),
            new Row("commit of 10 / 100 / 1,000 dirty tree blocks", ms(c10) + " / " + ms(c100) + " / " + ms(c1000)),
            new Row("mkfs + mount + umount, 256 MiB in-memory device", CoreSection.us(lifecycle)));
    }
}
