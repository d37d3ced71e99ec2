package org.jbtrfs.stress.classify;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.fs.Inspection;
import org.jbtrfs.stress.Seeds;
import org.jbtrfs.stress.schedule.Roles;

/**
 * A failing cycle's class: what kind of symptom, where in the kernel (the function that opened a
 * leaked transaction, the assertion, the oops frame, the sleep a hung or stalled operation blocked in)
 * and which lanes or threads were involved. Built only from the cycle's evidence, never from timings or
 * ids, so the same bug gives the same signature in every run: {@code kind:site@lanes}.
 *
 * @param kind  leak, hang, oops, bug, assert, uaf, dead-root-leak, fsck, stall, warn, slab-leak, error
 * @param site  kernel function, assertion expression or frame
 * @param lanes the lanes and kernel threads involved, sorted
 */
public record Signature(String kind, String site, List<String> lanes) {

    public String text() { return kind + ":" + site + (lanes.isEmpty() ? "" : "@" + String.join(",", lanes)); }

    /** A short stable id for {@code --class}: 8 hex digits of the text's hash. */
    public String id() {
        long h = 1125899906842597L;
        String t = text();
        for (int i = 0; i < t.length(); i++) {
            h = 31 * h + t.charAt(i);
        }
        return String.format(Locale.ROOT, "%08x", Seeds.mix(h) & 0xffffffffL);
    }

    /**
     * The signature of a failed cycle; the most telling symptom decides: a leaked transaction (named by who
     * opened it), then an oops or KASAN report (named by where), then a hang (named by the sleep), then
     * the rest.
     */
    public static Signature of(Observation o, Set<Symptom> symptoms) {
        if (symptoms.equals(java.util.EnumSet.of(Symptom.NEEDLESS_UUID_RESCAN))) {
            // nothing else went wrong: not the log's last error line (a panic of another filesystem's cycle, say). No
            // lane: the umount that saw it is not the mount that did it (one class, whichever lane unmounted)
            return new Signature("uuid", "needless rescan at mount", List.of());
        }
        if (symptoms.equals(java.util.EnumSet.of(Symptom.ASYNC_DISCARD_OFF))) {
            return new Signature("discard", "async discard off after remount", List.of()); // no lane, as above
        }
        if (Classifier.SELF_EXPLAINED.keySet().containsAll(symptoms) && !symptoms.isEmpty()) {
            return new Signature("instrumentation", symptoms.toString().toLowerCase(java.util.Locale.ROOT), List.of());
        }
        Inspection leaked = o.afterUmount != null ? o.afterUmount : o.beforeUmount;
        if (Observation.leaked(leaked)) {
            return leak(leaked, o.umountLane);
        }
        if (o.roLeak != null) {
            // the same leak, seen at the RO→RW remount that would have committed it
            return leak(o.roLeak, o.roLeakLane);
        }
        for (LogEntry e : o.log) {
            if (e.kind() == LogEntry.Kind.OOPS || e.kind() == LogEntry.Kind.USE_AFTER_FREE || e.kind() == LogEntry.Kind.DOUBLE_FREE) {
                String kind = e.kind() == LogEntry.Kind.OOPS ? "oops" : e.kind() == LogEntry.Kind.USE_AFTER_FREE ? "uaf" : "double-free";
                return new Signature(kind, oopsSite(e.message()), List.of(role(e.thread())));
            }
        }
        if (o.hang != null) {
            // after the leak and the oops: a hang is often what they leave behind (a dead worker's handle)
            return new Signature("hang", o.hang.op() + " in " + orNone(o.hang.frame()), List.of(role(o.hang.lane())));
        }
        if (Classifier.asyncCommitStillListed(o.log)) {
            // the kworker took the transaction off trans_list before the inspection: the same class as when it had not
            return new Signature("leak", Classifier.START_SYNC, startSyncRoles(o));
        }
        for (LogEntry e : o.log) {
            if (e.kind() == LogEntry.Kind.ASSERTION) {
                String m = e.message();
                int a = m.indexOf("assertion failed: ");
                String expr = a >= 0 ? m.substring(a + 18) : m;
                int comma = expr.indexOf(", in ");
                return new Signature("assert", comma > 0 ? expr.substring(0, comma) : expr, List.of(role(e.thread())));
            }
        }
        if (o.umountError != null) {
            return new Signature("error", "umount:" + exception(o.umountError), List.of(role(o.umountLane)));
        }
        if (!o.deadRootLeaks.isEmpty()) {
            return new Signature("dead-root-leak", "refs 0, no orphan item, not on dead_roots", List.of());
        }
        List<Observation.LaneError> errs = o.laneErrors();
        if (!errs.isEmpty()) {
            Observation.LaneError le = errs.get(0);
            return new Signature("error", le.op() + ":" + exception(le.error()), List.of(le.lane()));
        }
        if (o.workloadError != null) {
            return new Signature("error", exception(o.workloadError), List.of(Roles.DRIVER));
        }
        for (LogEntry e : o.log) {
            if (e.kind() == LogEntry.Kind.BUG) {
                return new Signature("bug", normalise(firstLine(e.message())), List.of(role(e.thread())));
            }
        }
        if (!o.fsck.isEmpty()) {
            // the image is damaged: named by what btrfs check found, not by which lane (the check runs after the cycle)
            return new Signature("fsck", String.join("+", new TreeSet<>(o.fsck.stream().map(p -> p.replaceAll(":.*", "")).toList())),
                List.of());
        }
        List<Observation.Stall> stalls = o.stalls();
        if (!stalls.isEmpty()) {
            Observation.Stall s = stalls.get(0); // the first: later ones may be its consequences
            return new Signature("stall", s.op() + " in " + s.frame(), List.of(role(s.lane())));
        }
        for (LogEntry e : o.log) {
            if (e.kind() == LogEntry.Kind.WARNING && e.message().startsWith(org.jbtrfs.core.kernel.Lockdep.CIRCULAR)) {
                // a lockdep report is the cycle of lock classes, whichever task happened to close it
                return new Signature("lockdep", firstLine(e.message()).substring(org.jbtrfs.core.kernel.Lockdep.CIRCULAR.length()), List.of());
            }
            if (e.kind() == LogEntry.Kind.WARNING) {
                return new Signature("warn", normalise(firstLine(e.message())), List.of(role(e.thread())));
            }
        }
        if (symptoms.contains(Symptom.SLAB_LEAK)) {
            return new Signature("slab-leak", String.join("+", new TreeSet<>(o.slabsInUse.stream().map(x -> x.replaceAll(":.*", "")).toList())),
                List.of());
        }
        // a device-statistics line is the count of an error another line reports (a scrub's verdict, a read's): that
        // line names the class, the count only when nothing else does
        LogEntry count = null;
        for (LogEntry e : o.log) {
            if (Classifier.errorLine(e, o)) {
                if (!Classifier.devStatLine(e.message())) {
                    return new Signature("error", normalise(firstLine(e.message())), List.of(role(e.thread())));
                }
                count = count == null ? e : count;
            }
        }
        if (count != null) {
            return new Signature("error", normalise(firstLine(count.message())), List.of(role(count.thread())));
        }
        return new Signature("other", symptoms.toString(), List.of());
    }

    private static String orNone(String s) { return s == null ? "?" : s; }

    /** A leaked transaction, named by the functions that opened it; the lane that found it and the openers' roles. */
    private static Signature leak(Inspection leaked, String lane) {
        Set<String> fns = new TreeSet<>();
        Set<String> who = new TreeSet<>();
        who.add(role(lane));
        // committed on the read-only filesystem: the same transaction the kernel's tree log would leave open
        List<Inspection.Handle> handles = new ArrayList<>();
        leaked.openTransactions().forEach(t -> handles.addAll(completedCommitter(t)));
        leaked.committedReadOnly().forEach(t -> handles.addAll(t.handles()));
        for (Inspection.Handle h : handles) {
            fns.add(h.function());
            who.add(role(h.thread()));
        }
        return new Signature("leak", String.join("+", fns), new ArrayList<>(who));
    }

    /**
     * The handles that name {@code t}, a transaction of trans_list: all of them for one left open; for one COMPLETED but still on
     * trans_list (its committer had not taken it off: stop 53) only START_SYNC's, whose async commit's kworker was that committer —
     * what ran in the transaction before its commit says nothing of the failure.
     */
    static List<Inspection.Handle> completedCommitter(Inspection.TransactionInfo t) {
        if (!t.completed()) {
            return t.handles();
        }
        return t.handles().stream().filter(h -> h.function().equals(Classifier.START_SYNC)).toList();
    }

    /** A START_SYNC handle in close_ctree's debug line of trans_list: its thread. */
    private static final java.util.regex.Pattern START_SYNC_CALLER =
        java.util.regex.Pattern.compile(Classifier.START_SYNC + "@([^,\\]]+)");

    /** The umount's lane and the roles of the START_SYNC callers close_ctree's debug line of trans_list names. */
    private static List<String> startSyncRoles(Observation o) {
        Set<String> who = new TreeSet<>();
        who.add(role(o.umountLane));
        for (LogEntry e : o.log) {
            if (e.message().startsWith(Classifier.TRANS_LIST_AT_ASSERT)) {
                java.util.regex.Matcher m = START_SYNC_CALLER.matcher(e.message());
                while (m.find()) {
                    who.add(role(m.group(1).trim()));
                }
            }
        }
        return new ArrayList<>(who);
    }

    /** "btrfs-cleaner" for kthreads, the lane's name for lanes ("lane:file:0" -> "file"), else the role. */
    public static String role(String thread) {
        if (Roles.LANES.contains(thread)) {
            return thread;
        }
        if (thread.startsWith("lane:")) {
            String[] p = thread.split(":");
            return p.length > 1 ? p[1] : thread;
        }
        if (thread.startsWith("stress-driver-") || thread.startsWith("driver-")) {
            return Roles.DRIVER;
        }
        if (thread.contains("kworker")) {
            return Roles.KWORKER;
        }
        return thread.replaceAll("[0-9]+", "N");
    }

    /** "unexpected exception in kthread btrfs-cleaner: BtrfsException(ENOENT) at DeadRoots.dropSnapshot". */
    static String oopsSite(String message) {
        String first = firstLine(message);
        String where = "";
        int ct = message.indexOf("Call Trace:");
        if (ct >= 0) {
            for (String line : message.substring(ct + 11).split("\n")) {
                String l = line.trim();
                if (!l.isEmpty()) {
                    where = " at " + l.replaceAll("\\+0x[0-9a-f/x]+", "").replaceAll("\\(.*\\)", "").trim();
                    break;
                }
            }
        }
        return normalise(first) + where;
    }

    static String exception(Throwable t) {
        String name = t.getClass().getSimpleName();
        if (t instanceof BtrfsException b) {
            name += "(" + b.errno() + ")";
        }
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.getClassName().startsWith("org.jbtrfs.") && !e.getClassName().startsWith("org.jbtrfs.stress")) {
                String c = e.getClassName();
                return name + " at " + c.substring(c.lastIndexOf('.') + 1) + "." + e.getMethodName();
            }
        }
        return name;
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** Numbers (transids, inode and subvolume ids, bytenrs) and device names vary between runs: drop them. */
    static String normalise(String s) {
        return s.replaceAll("\\(device [^)]*\\)", "(device D)").replaceAll(" on dev [^ ]+", " on dev D")
            // the device whose statistics count the error (stop 78: one class, whichever filesystem's disk)
            .replaceAll("bdev [^ ]+ errs: ", "bdev D errs: ")
            // the resume-point probe names the replace's target (stop 78: one class per target disk before)
            .replaceAll("the replace target [^ ]+ below", "the replace target D below")
            // a dev-replace's error names its source and target ("btrfs_scrub_dev(sdc, 1, sdk) failed -28", stop 65)
            .replaceAll("btrfs_scrub_dev\\([^,)]*, ([0-9]+), [^)]*\\)", "btrfs_scrub_dev(D, $1, D)")
            .replaceAll("0x[0-9a-fA-F]+", "N").replaceAll("[0-9]+", "N");
    }
}
