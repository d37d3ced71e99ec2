package org.jbtrfs.differential.scenario;

import java.util.Arrays;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * An expected difference: rows whose key matches {@code keyGlob} ({@code *} matches anything) — and, when
 * given, whose kernel and port values match {@code kernelGlob} and {@code portGlob} — may differ between
 * the kernel and the port, for {@code reason} ("6.18 also sets INCONSISTENT while a rescan is stopped").
 * Written {@code expect KEY-GLOB [when KERNEL-GLOB vs PORT-GLOB] -- REASON}.
 */
public record Expectation(String keyGlob, String kernelGlob, String portGlob, String reason) {
    public Expectation(String keyGlob, String reason) { this(keyGlob, null, null, reason); }

    public boolean matches(String key) { return glob(keyGlob, key); }

    /** Whether this expectation explains {@code key} having {@code kernel} on the kernel and {@code port} on the port. */
    public boolean explains(String key, String kernel, String port) {
        return matches(key) && (kernelGlob == null || glob(kernelGlob, kernel)) && (portGlob == null || glob(portGlob, port));
    }

    static boolean glob(String glob, String s) {
        String re = Arrays.stream(glob.split("\\*", -1)).map(p -> p.isEmpty() ? "" : Pattern.quote(p))
            .collect(Collectors.joining(".*"));
        return Pattern.compile(re, Pattern.DOTALL).matcher(s).matches();
    }
}
