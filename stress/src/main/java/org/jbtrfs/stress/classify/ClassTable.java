package org.jbtrfs.stress.classify;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/** The failure classes of a run, in the order first seen; shared by the drivers. */
public final class ClassTable {
    private final Map<String, FailureClass> classes = new LinkedHashMap<>();

    /** Records one failing cycle; returns its class. */
    public synchronized FailureClass record(CycleResult r, double secondsIntoRun) {
        Signature sig = r.signature();
        List<String> attributed = r.bugs().contains(Classifier.UNKNOWN) ? List.of(FailureClass.UNEXPLAINED) : List.copyOf(r.bugs());
        List<String> sym = new ArrayList<>(new TreeSet<>(r.symptoms().stream().map(Enum::name).toList()));
        FailureClass one = new FailureClass(sig.id(), sig.text(), sig.kind(), sig.site(), sig.lanes(), 1, r.replay() + " --class " + sig.id(),
            secondsIntoRun, attributed, Decisions.of(sig, attributed), sym);
        return classes.merge(sig.text(), one, FailureClass::merge);
    }

    /** Most frequent first ({@link FailureClass#ORDER}). */
    public synchronized List<FailureClass> snapshot() {
        List<FailureClass> l = new ArrayList<>(classes.values());
        l.sort(FailureClass.ORDER);
        return l;
    }
}
