package org.jbtrfs.junit;

import java.util.Collection;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.LogEntry;

/**
 * The test's view of kernel symptoms: declare at run time what it provokes ({@link #expect}), and see
 * what the log shows so far ({@link #observed}). The extension checks the final set after rmmod.
 */
public final class KernelSymptoms {
    private final KernelLog log;
    private final Set<KernelSymptom> expected = EnumSet.noneOf(KernelSymptom.class);

    KernelSymptoms(KernelLog log, Collection<KernelSymptom> declared) {
        this.log = log;
        expected.addAll(declared);
    }

    /** Declares symptoms this test provokes on purpose. */
    public KernelSymptoms expect(KernelSymptom... symptoms) {
        synchronized (expected) {
            expected.addAll(List.of(symptoms));
        }
        return this;
    }

    public Set<KernelSymptom> expected() {
        synchronized (expected) {
            return expected.isEmpty() ? EnumSet.noneOf(KernelSymptom.class) : EnumSet.copyOf(expected);
        }
    }

    /** What the kernel log shows so far (rmmod-time symptoms only after the test). */
    public Set<KernelSymptom> observed() { return classify(log.entries()); }

    /** Maps log lines to symptoms; a BUG right after its assertion is that assertion's. */
    static Set<KernelSymptom> classify(List<LogEntry> entries) {
        Set<KernelSymptom> s = EnumSet.noneOf(KernelSymptom.class);
        LogEntry prev = null;
        for (LogEntry e : entries) {
            switch (e.kind()) {
                case WARNING -> s.add(KernelSymptom.WARNING);
                case ASSERTION -> s.add(e.message().contains("list_empty(&fs_info->trans_list)") ? KernelSymptom.TRANS_LIST_ASSERT
                    : e.message().contains("list_empty(&fs_info->delayed_iputs)") ? KernelSymptom.DELAYED_IPUTS_ASSERT
                    : KernelSymptom.ASSERTION);
                case BUG -> {
                    if (prev == null || prev.kind() != LogEntry.Kind.ASSERTION || prev.seq() != e.seq() - 1) {
                        s.add(KernelSymptom.BUG);
                    }
                }
                case USE_AFTER_FREE -> s.add(KernelSymptom.USE_AFTER_FREE);
                case OOPS, DOUBLE_FREE -> s.add(KernelSymptom.OOPS);
                case SLAB_LEAK -> s.add(KernelSymptom.SLAB_LEAK);
                case STATE_LEAK -> s.add(KernelSymptom.STATE_LEAK);
                case HUNG_TASK -> s.add(KernelSymptom.HUNG_TASK);
                default -> { }
            }
            prev = e;
        }
        return s;
    }
}
