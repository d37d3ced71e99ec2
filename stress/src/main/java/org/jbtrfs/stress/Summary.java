package org.jbtrfs.stress;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.Hook;

/** The end of a run: what the text summary and the JSON file say. */
record Summary(StressOptions options, long cycles, double seconds, long failing, Map<String, Long> bugs,
               Map<Symptom, Long> symptoms, Map<String, RunStats.First> first, Map<Hook, Long> hooks,
               Map<Fault, Long> faults, long reloads, List<String> notes, String aborted) {

    double cyclesPerSecond() { return seconds > 0 ? cycles / seconds : 0; }

    int exitCode() { return failing > 0 || aborted != null ? 1 : 0; }

    String text() {
        StringBuilder sb = new StringBuilder();
        StressOptions o = options;
        sb.append(String.format(Locale.ROOT, "jbtrfs stress: %d cycles in %.1f s (%.1f cycles/s), seed %d, reverted: %s, "
                + "crc32c %s, %d filesystem%s, workload %s%n", cycles, seconds, cyclesPerSecond(), o.seed(), o.revertedNames(),
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

    /** The JSON summary, written by hand (no JSON library in the runner). */
    String json() {
        Json j = new Json();
        j.begin();
        j.field("cycles", cycles);
        j.field("seconds", seconds);
        j.field("cyclesPerSecond", cyclesPerSecond());
        j.field("seed", options.seed());
        j.key("reverted").beginArray();
        options.reverted().forEach(f -> j.value(f.kebab()));
        j.endArray();
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
