package org.jbtrfs.bench.figures;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import org.jbtrfs.bench.figures.StressRuns.Run;

/** The stress runner's figure runs: the minimal cycle's rate, the full workload's rate and resources. */
final class StressSection implements Section {
    private final Inputs in;
    private final Optional<Run> g1, g2, a1, a2, full;

    StressSection(Inputs in) {
        this.in = in;
        try {
            g1 = in.stress().run("minimal", "generic", 1);
            g2 = in.stress().run("minimal", "generic", 2);
            a1 = in.stress().run("minimal", "accelerated", 1);
            a2 = in.stress().run("minimal", "accelerated", 2);
            full = in.stress().run("full", "generic", 1);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String rate(Optional<Run> r) {
        return r.map(x -> Fmt.num(x.cyclesPerSecond()) + " cycles/s").orElse(Inputs.NOT_RUN);
    }

    private static String cell(Optional<Run> r) {
        return r.map(x -> Fmt.num(x.cyclesPerSecond()) + " (" + String.format(java.util.Locale.ROOT, "%,d", x.cycles()) + " in "
            + Fmt.num(x.seconds()) + " s, " + x.failingCycles() + " failing)").orElse(Inputs.NOT_RUN);
    }

    private static String ratio(Optional<Run> two, Optional<Run> one) {
        return two.isPresent() && one.isPresent() ? Fmt.times(two.get().cyclesPerSecond() / one.get().cyclesPerSecond()) : Inputs.NOT_RUN;
    }

    /** Non-zero entries of a JSON object, "name n, name n". */
    private static String nonZero(JsonNode obj) {
        List<String> l = new ArrayList<>();
        obj.fields().forEachRemaining(e -> {
            if (e.getValue().asLong() != 0) {
                l.add("`" + e.getKey() + "` " + String.format(java.util.Locale.ROOT, "%,d", e.getValue().asLong()));
            }
        });
        return l.isEmpty() ? "none" : String.join(", ", l);
    }

    private String verbatim(String file, String linePrefix) {
        Path p = in.dir().resolve("stress").resolve(file);
        try {
            if (!Files.exists(p)) {
                return Inputs.NOT_RUN + "\n";
            }
            String text = Files.readAllLines(p).stream().filter(l -> linePrefix.isEmpty() || l.startsWith(linePrefix))
                .collect(Collectors.joining("\n"));
            return "```\n" + (text.isBlank() ? "(the run printed no such lines)" : text.strip()) + "\n```\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String doc() {
        StringBuilder sb = new StringBuilder("## Stress runner (`stress/target/jbtrfs-stress.jar`)\n\n");
        sb.append("Command lines: see *stress runs* in the table at the top. The rates come from each run's `--json`\n")
            .append("summary (`cycles`, `seconds`, `cyclesPerSecond`, `failingCycles`).\n\n");
        sb.append("### The minimal cycle (`--workload minimal`)\n\n")
            .append("Mount RW, create a file, unlink it, remount RO, umount; no hooks, no faults, every fix applied: the\n")
            .append("benchmark cycle that can be compared with the real kernel. Cells: cycles/s (cycles in seconds, failing cycles).\n\n")
            .append(Md.table(List.of("crc32c", "1 filesystem", "2 filesystems", "2 / 1"), List.of(
                List.of("generic", cell(g1), cell(g2), ratio(g2, g1)),
                List.of("accelerated", cell(a1), cell(a2), ratio(a2, a1)))))
            .append("\nWhere the time goes: the same cycle with `-Djbtrfs.stress.profile=true` (generic crc32c, one\n")
            .append("filesystem; time per driver operation and a 1 ms stack-sampling profile of the driver thread), as the\n")
            .append("runner printed it:\n\n")
            .append(verbatim("minimal-profile.txt", ""))
            .append('\n');
        sb.append("### The full workload (`--workload full`)\n\n")
            .append("The seeded stress cycle (dozens of operations, several commits, often a quota rescan, seeded hook\n")
            .append("delays and faults), every fix applied, generic crc32c, with `-Djbtrfs.stress.sample=10` (live\n")
            .append("threads and heap after a full GC every 10 s; the GC it forces costs a little of the rate).\n\n");
        if (full.isPresent()) {
            Run r = full.get();
            sb.append(Md.table(List.of("", ""), List.of(
                List.of("cycles", String.format(java.util.Locale.ROOT, "%,d", r.cycles()) + " in " + Fmt.num(r.seconds()) + " s: "
                    + Fmt.num(r.cyclesPerSecond()) + " cycles/s"),
                List.of("failing cycles", r.failingCycles() + (r.failingCycles() == 0 ? "" : " — bugs: " + nonZero(r.raw().path("bugs")))),
                List.of("symptoms", nonZero(r.raw().path("symptoms"))),
                List.of("race windows reached (hook arrivals)", nonZero(r.raw().path("hooks"))),
                List.of("faults fired", nonZero(r.raw().path("faults"))))));
        } else {
            sb.append(Inputs.NOT_RUN).append('\n');
        }
        sb.append("\nResource samples of that run:\n\n").append(verbatim("full-generic-1.txt", "sample t="));
        sb.append("\nTime to find each reverted fix: to be generated by the explorer's section (issue 9, see *Adding\n")
            .append("figures*); until then `stress/scripts/time-to-find.sh [SECONDS] [SEEDS...]` measures it.\n\n");
        sb.append("### Port bugs the runner found (all fixed)\n\n")
            .append("2–5 are pinned by `StressFoundRegressionsTest` (fs), 1 by the comment at the fix in\n")
            .append("`ExtentCommit.finishExtentCommit`.\n\n")
            .append("1. A freed tree block's bytenr handed out again while the btree inode still held its old buffer:\n")
            .append("   `ExtentCommit.finishExtentCommit` unpinned an extent before forgetting its buffer, after the commit\n")
            .append("   had already let the next transaction run, so a new dirty block at that bytenr could be dropped\n")
            .append("   (\"parent transid verify failed\" at the next mount). It now forgets before it unpins.\n")
            .append("2. `Transactions.end` marked the handle ended before `btrfs_create_pending_block_groups` inserted\n")
            .append("   through it: a write allocating a second data chunk hung the next commit.\n")
            .append("3. A resumed qgroup rescan was not waited for (`qgroup_rescan_init` was not called for a RESCAN\n")
            .append("   status at mount, as `btrfs_read_qgroup_config` does).\n")
            .append("4. Subvolume ids were reused after a drop (highest root item id + 1).\n")
            .append("5. An RO remount succeeded with an unlinked file still open (the VFS refuses with EBUSY:\n")
            .append("   `sb_prepare_remount_readonly`, `s_remove_count`).\n");
        return sb.toString();
    }

    @Override
    public List<Row> rows() {
        return List.of(
            new Row("`--workload minimal` (mount RW → create + unlink a file → remount RO → umount), all fixes",
                "1 filesystem: " + rate(g1) + " generic crc32c, " + rate(a1) + " accelerated; 2 filesystems: " + rate(g2) + " / "
                    + rate(a2)),
            new Row("`--workload full`, all fixes, generic crc32c", full.map(r -> Fmt.num(r.cyclesPerSecond()) + " cycles/s, "
                + r.failingCycles() + " failing of " + String.format(java.util.Locale.ROOT, "%,d", r.cycles())).orElse(Inputs.NOT_RUN)));
    }
}
