package org.jbtrfs.differential;

/**
 * One normalised observation line: the kernel and the port produce the same key for the same thing,
 * and the same value when they agree.
 *
 * @param key   what was observed, prefixed with the observation's label ("after the crash: orphan item 256")
 * @param value what was seen ("present", "refs 0", "seen ×39")
 * @param kind  compared, measured (a number, shown with the ratio) or not observable on this target
 * @param note  for {@link Kind#UNOBSERVABLE}: why; otherwise null
 */
public record Observation(String key, String value, Kind kind, String note) {
    public enum Kind { COMPARED, MEASURED, UNOBSERVABLE }

    public static Observation compared(String key, String value) { return new Observation(key, value, Kind.COMPARED, null); }

    /** A measurement: {@code value} is a number followed by its unit ("412 µs"). */
    public static Observation measured(String key, String value) { return new Observation(key, value, Kind.MEASURED, null); }

    public static Observation unobservable(String key, String why) { return new Observation(key, "not observable", Kind.UNOBSERVABLE, why); }
}
