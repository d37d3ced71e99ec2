package org.jbtrfs.stress.report;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.Hook;
import org.jbtrfs.stress.StressOptions;
import org.jbtrfs.stress.classify.FailureClass;
import org.jbtrfs.stress.classify.Symptom;

/** The end of a run: what the text summary and the JSON file say. */
public record Summary(StressOptions options, long cycles, double seconds, long failing, Map<String, Long> bugs,
               Map<Symptom, Long> symptoms, Map<String, RunStats.First> first, Map<Hook, Long> hooks,
               Map<Fault, Long> faults, long reloads, List<String> notes, String aborted, List<FailureClass> classes,
               ReplayResult replayResult) {

    /** What {@code --replay --repeat N} measured: how often the cycle hit the class again. */
    public record ReplayResult(String token, String classId, String signature, int repeats, int rehits, List<String> seen) {
        public String line() {
            return String.format(Locale.ROOT, "re-hit %d/%d (class %s %s)", rehits, repeats, classId == null ? "-" : classId,
                signature == null ? "none: the cycle did not fail" : signature);
        }
    }

    public Summary(StressOptions options, long cycles, double seconds, long failing, Map<String, Long> bugs,
            Map<Symptom, Long> symptoms, Map<String, RunStats.First> first, Map<Hook, Long> hooks,
            Map<Fault, Long> faults, long reloads, List<String> notes, String aborted, List<FailureClass> classes) {
        this(options, cycles, seconds, failing, bugs, symptoms, first, hooks, faults, reloads, notes, aborted, classes, null);
    }

    double cyclesPerSecond() { return seconds > 0 ? cycles / seconds : 0; }

    public int exitCode() { return failing > 0 || aborted != null ? 1 : 0; }

    public String text() {
        StringBuilder sb = new StringBuilder();
        StressOptions o = options;
        sb.append(String.format(Locale.ROOT, "jbtrfs stress: %d cycles in %.1f s (%.1f cycles/s), seed %d, kernel %s, reverted: %s, "
                + "crc32c %s, %d filesystem%s, workload %s%n", cycles, seconds, cyclesPerSecond(), o.seed(), kernelName(), o.revertedNames(),
            o.crc32c().name().toLowerCase(Locale.ROOT), o.filesystems(), o.filesystems() == 1 ? "" : "s",
            o.workload().name().toLowerCase(Locale.ROOT)));
        if (aborted != null) {
            sb.append("ABORTED: ").append(aborted).append('\n');
        }
        sb.append("failing cycles: ").append(failing).append('\n');
        if (!bugs.isEmpty()) {
            sb.append("bugs:\n");
            bugs.forEach((b, n) -> {
                RunStats.First f = first.get(b);
                sb.append(String.format(Locale.ROOT, "  %-34s %6d  first after %.2f s, replay: --replay %s%n", b, n,
                    f.secondsIntoRun(), f.replay()));
            });
        }
        if (!classes.isEmpty()) {
            sb.append("classes:\n");
            for (FailureClass c : classes) {
                sb.append(String.format(Locale.ROOT, "  %s %6d  %s%n      attributed to %s; %s; first after %.2f s: --replay %s%n", c.id(),
                    c.count(), c.signature(), String.join(",", c.attributedTo()), c.decision(), c.firstSecondsIntoRun(), c.firstReplay()));
            }
        }
        if (replayResult != null) {
            sb.append(replayResult.line()).append('\n');
        }
        sb.append("symptoms:");
        symptoms.forEach((s, n) -> sb.append(' ').append(s).append('=').append(n));
        sb.append('\n');
        if (hooks.values().stream().anyMatch(n -> n > 0)) {
            sb.append("hook windows reached:\n");
            hooks.forEach((h, n) -> sb.append(String.format(Locale.ROOT, "  %-36s %10d%n", h, n)));
        }
        if (faults.values().stream().anyMatch(n -> n > 0)) {
            sb.append("faults fired:");
            faults.forEach((f, n) -> sb.append(' ').append(f).append('=').append(n));
            sb.append('\n');
        }
        sb.append("module reloads: ").append(reloads).append('\n');
        for (String n : notes) {
            sb.append("note: ").append(n).append('\n');
        }
        return sb.toString();
    }

    /** "5.12" for a --kernel profile, "all-fixes" for the default. */
    String kernelName() { return options.kernel() == null ? "all-fixes" : options.kernel().label(); }

    /** The JSON summary, written by hand (no JSON library in the runner). */
    public String json() {
        Json j = new Json();
        j.begin();
        j.field("cycles", cycles);
        j.field("seconds", seconds);
        j.field("cyclesPerSecond", cyclesPerSecond());
        j.field("seed", options.seed());
        j.key("reverted").beginArray();
        options.effectiveReverted().forEach(f -> j.value(f.kebab()));
        j.endArray();
        j.field("kernel", kernelName());
        j.field("crc32c", options.crc32c().name().toLowerCase(Locale.ROOT));
        j.field("filesystems", options.filesystems());
        j.field("workload", options.workload().name().toLowerCase(Locale.ROOT));
        j.field("failingCycles", failing);
        j.key("bugs").begin();
        bugs.forEach(j::field);
        j.end();
        j.key("symptoms").begin();
        symptoms.forEach((s, n) -> j.field(s.name(), n));
        j.end();
        j.key("first").begin();
        first.forEach((b, f) -> {
            j.key(b).begin();
            j.field("replay", f.replay().toString());
            j.field("seed", f.replay().runSeed());
            j.field("cycle", f.replay().cycle());
            j.field("filesystem", f.replay().fs());
            j.field("cycleSeed", "0x" + Long.toHexString(f.cycleSeed()));
            j.field("secondsIntoRun", f.secondsIntoRun());
            j.end();
        });
        j.end();
        j.key("hooks").begin();
        hooks.forEach((h, n) -> j.field(h.name(), n));
        j.end();
        j.key("faults").begin();
        faults.forEach((f, n) -> j.field(f.name(), n));
        j.end();
        j.field("moduleReloads", reloads);
        j.key("classes").beginArray();
        for (FailureClass c : classes) {
            j.begin();
            j.field("id", c.id());
            j.field("signature", c.signature());
            j.field("kind", c.kind());
            j.field("site", c.site());
            j.key("lanes").beginArray();
            c.lanes().forEach(j::value);
            j.endArray();
            j.field("count", c.count());
            j.field("firstReplay", c.firstReplay());
            j.field("firstSecondsIntoRun", c.firstSecondsIntoRun());
            j.key("attributedTo").beginArray();
            c.attributedTo().forEach(j::value);
            j.endArray();
            j.field("decision", c.decision());
            j.key("symptoms").beginArray();
            c.symptoms().forEach(j::value);
            j.endArray();
            j.end();
        }
        j.endArray();
        if (replayResult != null) {
            j.key("replay").begin();
            j.field("token", replayResult.token());
            j.field("classId", replayResult.classId() == null ? "" : replayResult.classId());
            j.field("signature", replayResult.signature() == null ? "" : replayResult.signature());
            j.field("repeats", replayResult.repeats());
            j.field("rehits", replayResult.rehits());
            j.key("seen").beginArray();
            replayResult.seen().forEach(j::value);
            j.endArray();
            j.end();
        }
        j.key("notes").beginArray();
        notes.forEach(j::value);
        j.endArray();
        if (aborted != null) {
            j.field("aborted", aborted);
        }
        j.end();
        return j.toString();
    }
}
