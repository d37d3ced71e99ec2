package org.jbtrfs.stress.classify;

import java.util.List;
import org.jbtrfs.core.FixSwitch;

/**
 * What the triage decided for a class (kernel or port), for the summary. A class attributed to a fix
 * switch is a kernel bug that switch fixes (the seed's six upstream, later-upstream, or proposed here);
 * a port bug found by the explorer is fixed at once and has a regression test instead of a class.
 * Decisions are written out in the reproducers' Javadoc (ExplorerFoundTest, LostWakeupTest).
 */
final class Decisions {
    private Decisions() { }

    static String of(Signature sig, List<String> attributedTo) {
        if (attributedTo.contains(FailureClass.UNEXPLAINED)) {
            return "not triaged";
        }
        StringBuilder sb = new StringBuilder();
        for (String s : attributedTo) {
            FixSwitch f = FixSwitch.parse(s);
            sb.append(sb.length() == 0 ? "" : "; ").append(switch (f.origin()) {
                case SEED -> "kernel bug, fixed upstream by the seed's " + s;
                case LATER_UPSTREAM -> "kernel bug, fixed upstream later: " + s;
                case PROPOSED -> "kernel bug kept bug-for-bug; proposed fix " + s;
            });
        }
        return sb.toString();
    }
}
