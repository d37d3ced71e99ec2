package org.jbtrfs.differential.kernel;

import java.util.List;

/** The kernel target cannot run here: every missing prerequisite, one sentence each. */
public final class UnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final List<String> missing;

    public UnavailableException(List<String> missing) {
        super(String.join("; ", missing));
        this.missing = List.copyOf(missing);
    }

    public List<String> missing() { return missing; }
}
