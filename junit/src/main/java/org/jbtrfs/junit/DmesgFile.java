package org.jbtrfs.junit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Where a test's whole kernel log goes: {@code target/jbtrfs/<test class>/<test method>.dmesg}, relative to
 * the working directory (the module's directory under Maven), or under the directory named by the JUnit
 * configuration parameter {@value #DIR_PARAMETER}. A repeated or parameterized test's invocations get their
 * own files ({@code method-3.dmesg}), so parallel tests never write the same file.
 */
final class DmesgFile {
    /** JUnit configuration parameter: the directory the .dmesg files go under. */
    static final String DIR_PARAMETER = "jbtrfs.dmesg.dir";
    static final String DEFAULT_DIR = "target/jbtrfs";

    private static final Pattern INVOCATION = Pattern.compile("\\[test-template-invocation:#(\\d+)]$");

    private DmesgFile() { }

    /** The file of the test {@code ctx} runs. */
    static Path of(ExtensionContext ctx) {
        String dir = ctx.getConfigurationParameter(DIR_PARAMETER).orElse(DEFAULT_DIR);
        return Path.of(dir, ctx.getRequiredTestClass().getName(), fileName(ctx)).toAbsolutePath().normalize();
    }

    private static String fileName(ExtensionContext ctx) {
        String name = ctx.getRequiredTestMethod().getName();
        Matcher m = INVOCATION.matcher(ctx.getUniqueId());
        return (m.find() ? name + "-" + m.group(1) : name) + ".dmesg";
    }

    /** Writes {@code dmesg} to {@code file}, creating its directories. */
    static void write(Path file, String dmesg) {
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, dmesg, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Removes the file an earlier failing run of the same test left (it would be mistaken for this run's). */
    static void removeStale(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // a stale log is no reason to fail a passing test
        }
    }
}
