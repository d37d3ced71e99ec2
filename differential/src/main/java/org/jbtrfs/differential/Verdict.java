package org.jbtrfs.differential;

/** How a row of the side-by-side table compares. */
public enum Verdict {
    /** Both sides saw the same value. */
    AGREE("agree"),
    /** The values differ and no expectation explains it: a finding. */
    DIFFER("DIFFER"),
    /** The values differ for a reason the scenario states (5.11 vs 6.18, a documented model limit). */
    EXPECTED("expected"),
    /** A measurement: both values are shown, with their ratio. */
    MEASURED("measured"),
    /** One side cannot observe this; the reason says why. */
    ONE_SIDED("one-sided");

    private final String word;

    Verdict(String word) { this.word = word; }

    public String word() { return word; }
}
