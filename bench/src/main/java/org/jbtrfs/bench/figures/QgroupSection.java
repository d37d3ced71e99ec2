package org.jbtrfs.bench.figures;

import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.jbtrfs.bench.QgroupRescanBenchmark;
import org.jbtrfs.bench.figures.JmhResults.Result;

/** Qgroup rescan throughput. */
final class QgroupSection extends JmhSection {
    private final Optional<Result> generic, accelerated;

    QgroupSection(Inputs in) {
        super(in);
        generic = jmh.find("QgroupRescanBenchmark.rescanAndWait", "crc32c", "GENERIC");
        accelerated = jmh.find("QgroupRescanBenchmark.rescanAndWait", "crc32c", "ACCELERATED");
    }

    /** Extent items one rescan walked: the counter's rate over the rescan rate (exact: items per rescan is constant). */
    private static double items(Result r) {
        return r.secondary().getOrDefault("extentItems", Double.NaN) / r.score();
    }

    private static List<String> line(String crc, Optional<Result> r) {
        return r.map(x -> List.of(crc, String.format(Locale.ROOT, "%,d", Math.round(items(x))), Fmt.pm(x.score(), x.error()),
                Fmt.num(1000 / x.score()), Fmt.millions(x.secondary().getOrDefault("extentItems", Double.NaN)), x.settings()))
            .orElse(List.of(crc, Inputs.NOT_RUN, "", "", "", ""));
    }

    @Override
    public String doc() {
        var t = newRows();
        t.add(line("generic", generic));
        t.add(line("accelerated", accelerated));
        return "## Qgroup rescan (`QgroupRescanBenchmark`)\n\n"
            + "How many extent items per second `btrfs_qgroup_rescan_worker` accounts, walking the extent tree's\n"
            + "commit root one leaf per transaction. The filesystem is built once per trial through the public\n"
            + "file API on a manual clock (" + String.format(Locale.ROOT, "%,d", QgroupRescanBenchmark.FILES) + " files, appending writes of "
            + QgroupRescanBenchmark.EXTENT_BYTES + " bytes, every write a new 4 KiB data\n"
            + "extent: " + String.format(Locale.ROOT, "%,d", QgroupRescanBenchmark.EXTENTS) + " data extents plus the tree blocks that hold them). One operation is\n"
            + "`btrfs quota rescan` + `-w`: `btrfs_qgroup_rescan`'s join-and-commit and zeroing, the worker's\n"
            + "per-leaf transactions (the last one committed) and its status update, until `complete_all`. The\n"
            + "trial checks that every rescan came to the same numbers and that the module unloads clean. The\n"
            + "rescan path takes several seconds of warm-up before the JIT has compiled it, hence the longer\n"
            + "warm-up; a fixed heap keeps G1 from shrinking and growing again inside a measurement.\n\n"
            + Md.table(List.of("crc32c", "extent items per rescan", "rescans/s (99.9 % CI)", "ms per rescan", "extent items/s", "JMH settings"), t)
            + "\n"
            + "This is the port's cost — leaf copies from the cached commit root, transaction start/end, every\n"
            + "extent's roots resolved by the commit roots' backref walk (`btrfs_find_all_roots`: one extent-tree\n"
            + "search and one search of the owning tree per level, `Backref`) and its accounting — not a kernel\n"
            + "prediction: the kernel's walk also allocates its ulists and preliminary refs and reads blocks that may\n"
            + "not be cached. For the race reproducers the point is the other way round: a full rescan here is short, so a\n"
            + "reproducer cannot rely on \"the rescan is still running\" without parking it (the tests park it with\n"
            + "`QGROUP_RESCAN_BEFORE_LEAF`).\n";
    }

    private static String figure(Optional<Result> r) {
        return r.map(x -> Fmt.num(1000 / x.score()) + " ms per rescan, "
            + Fmt.millions(x.secondary().getOrDefault("extentItems", Double.NaN)) + " extent items/s").orElse(Inputs.NOT_RUN);
    }

    @Override
    public List<Row> rows() {
        Optional<Result> r = accelerated.isPresent() ? accelerated : generic;
        return List.of(new Row("qgroup rescan of " + r.map(x -> String.format(Locale.ROOT, "%,d", Math.round(items(x))))
            .orElse(String.format(Locale.ROOT, "%,d data", QgroupRescanBenchmark.EXTENTS)) + " extent items",
            "generic crc32c: " + figure(generic) + "; accelerated: " + figure(accelerated)));
    }
}
