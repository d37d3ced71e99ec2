package org.jbtrfs.differential.scenario;

/** A scenario that cannot be run as written: an unknown step or option, a bad argument (the CLI exits 2). */
public final class ScenarioException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ScenarioException(String message) { super(message); }

    /** "scenario NAME line N: message". */
    static ScenarioException at(String source, int line, String message) {
        return new ScenarioException(source + " line " + line + ": " + message);
    }
}
