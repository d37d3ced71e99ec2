package org.jbtrfs.differential.scenario;

import java.util.Arrays;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * An expected difference: rows whose key matches {@code glob} ({@code *} matches anything) may differ
 * between the kernel and the port, for {@code reason} ("5.11 commits an idle superblock").
 */
public record Expectation(String glob, String reason) {
    public boolean matches(String key) {
        String re = Arrays.stream(glob.split("\\*", -1)).map(p -> p.isEmpty() ? "" : Pattern.quote(p))
            .collect(Collectors.joining(".*"));
        return Pattern.compile(re, Pattern.DOTALL).matcher(key).matches();
    }
}
