package org.jbtrfs.junit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Event;
import org.junit.platform.testkit.engine.Events;

/** The extension judged by running its fixtures (ExtensionFixtures) through the Jupiter engine. */
class BtrfsExtensionTest {
    /** Where these tests' fixtures write their .dmesg files (one directory per test). */
    @TempDir
    Path dmesgDir;

    private Events run(Class<?> fixture) { return run(fixture, Map.of()); }

    private Events run(Class<?> fixture, Map<String, String> config) {
        return EngineTestKit.engine("junit-jupiter").selectors(selectClass(fixture))
            .configurationParameter(DmesgFile.DIR_PARAMETER, dmesgDir.toString())
            .configurationParameters(config).execute().testEvents();
    }

    private static String failureMessage(Events events) {
        List<Event> failed = events.failed().list();
        assertEquals(1, failed.size(), "exactly one failing test expected");
        return messageOf(failed.get(0));
    }

    private static String messageOf(Event failed) {
        Throwable t = failed.getPayload(org.junit.platform.engine.TestExecutionResult.class).orElseThrow()
            .getThrowable().orElseThrow();
        return t.getMessage();
    }

    private Path dmesgOf(Class<?> fixture, String file) { return dmesgDir.resolve(fixture.getName()).resolve(file); }

    @Test
    void aCleanTestPasses() {
        Events e = run(ExtensionFixtures.Clean.class);
        assertEquals(1, e.succeeded().count());
        assertEquals(0, e.failed().count());
    }

    @Test
    void aTestThatLeaksFailsWithTheKernelLog() {
        String msg = failureMessage(run(ExtensionFixtures.LeaksASlabObject.class));
        assertTrue(msg.contains("the kernel reported [SLAB_LEAK]"), msg);
        assertTrue(msg.contains("Objects remaining in btrfs_path"), "the SLUB report is in the excerpt: " + msg);
    }

    @Test
    void aDeclaredSymptomThatNeverShowsFails() {
        String msg = failureMessage(run(ExtensionFixtures.DeclaresALeakThatDoesNotHappen.class));
        assertTrue(msg.contains("declared kernel symptoms did not show: [SLAB_LEAK]"), msg);
    }

    @Test
    void aSymptomDeclaredThroughTheHandleIsAccepted() {
        Events e = run(ExtensionFixtures.DeclaresItsLeakThroughTheHandle.class);
        assertEquals(1, e.succeeded().count());
    }

    @Test
    void aFileLeftOpenFailsTheTest() {
        String msg = failureMessage(run(ExtensionFixtures.LeavesAFileOpen.class));
        assertTrue(msg.contains("the test left files open"), msg);
    }

    @Test
    void anUnmountedFilesystemCannotBeInjected() {
        String msg = failureMessage(run(ExtensionFixtures.AsksForAFilesystemThatIsNotMounted.class));
        assertTrue(msg.contains("no mounted filesystem to inject"), msg);
    }

    @Test
    void aRegisteredInstanceCarriesItsSettings() {
        Events e = run(ExtensionFixtures.Registered.class);
        assertEquals(1, e.succeeded().count());
    }

    @Test
    void registeringTwiceIsRefused() {
        String msg = failureMessage(run(ExtensionFixtures.RegisteredTwice.class));
        assertTrue(msg.contains("registered twice"), msg);
    }

    /**
     * Twelve WARNINGs with twenty-frame traces: the message keeps the symptom lines, each trace cut to its
     * jbtrfs frames, at most KernelLogExcerpt.MAX_LINES lines of log, and names the file with all of it.
     */
    @Test
    void aFailureMessageIsShortAndNamesTheFileWithTheWholeLog() throws Exception {
        String msg = failureMessage(run(ExtensionFixtures.WarnsADozenTimes.class));
        Path file = dmesgOf(ExtensionFixtures.WarnsADozenTimes.class, "warns.dmesg");

        assertTrue(msg.startsWith("the kernel reported [WARNING] (not declared with @ExpectKernelSymptoms)\n"), msg);
        assertTrue(msg.contains("the whole log: " + file + ")"), msg);
        long lines = msg.lines().count();
        assertTrue(lines <= KernelLogExcerpt.MAX_LINES + 3, lines + " lines:\n" + msg);
        assertTrue(msg.contains(" at fs/btrfs/fixture.c:0 warn_0\n"), msg);
        assertTrue(msg.contains("junit.ExtensionFixtures$WarnsADozenTimes.warns:"), "the fixture's own frame stays: " + msg);
        assertFalse(msg.contains("org.junit") || msg.contains("jdk.internal"), "no frames of JUnit or the JDK: " + msg);
        assertTrue(msg.contains("more frames"), msg);
        assertTrue(msg.endsWith("more entries in the file\n"), msg);

        String dmesg = Files.readString(file);
        assertEquals(12, dmesg.lines().filter(l -> l.contains("] WARNING: ")).count(), dmesg);
        assertTrue(dmesg.contains("warn_11") && dmesg.contains("org.junit"), "the file has every entry, traces whole");
    }

    /** The real thing: a leaked transaction's teardown WARNINGs, traces from close_ctree, slab and state leaks. */
    @Test
    void aLeakToTheTeardownFailsWithAShortMessage() throws Exception {
        String msg = failureMessage(run(ExtensionFixtures.LeaksATransactionToTheTeardown.class));
        assertTrue(msg.startsWith("the kernel reported [WARNING, SLAB_LEAK, STATE_LEAK]"), msg);
        assertTrue(msg.lines().count() <= KernelLogExcerpt.MAX_LINES + 3, msg);
        assertTrue(msg.contains("fs.CloseCtree.closeCtree:"), "the teardown's frames stay: " + msg);
        int frames = 0;
        for (String line : msg.lines().toList()) {
            frames = line.matches("^   [\\w$.]+:-?\\d+$") ? frames + 1 : 0;
            assertTrue(frames <= KernelLogExcerpt.FRAMES, "a trace longer than its first jbtrfs frames: " + msg);
        }
        String dmesg = Files.readString(dmesgOf(ExtensionFixtures.LeaksATransactionToTheTeardown.class,
            "mountsRoOverAStrayOrphanItem.dmesg"));
        assertTrue(dmesg.length() > 2 * msg.length(), "the file holds what the message leaves out");
    }

    @Test
    void parallelTestsEachWriteTheirOwnLog() throws Exception {
        Events e = run(ExtensionFixtures.WarnInParallel.class, Map.of(
            "junit.jupiter.execution.parallel.enabled", "true",
            "junit.jupiter.execution.parallel.config.strategy", "fixed",
            "junit.jupiter.execution.parallel.config.fixed.parallelism", "3"));
        assertEquals(6, e.failed().count());
        for (int i = 1; i <= 6; i++) {
            Path file = dmesgOf(ExtensionFixtures.WarnInParallel.class, "warns-" + i + ".dmesg");
            String dmesg = Files.readString(file);
            for (int j = 1; j <= 6; j++) {
                assertEquals(i == j, dmesg.contains("warn_in_repetition_" + j + "\n"), file + ":\n" + dmesg);
            }
        }
        for (Event failed : e.failed().list()) {
            String msg = messageOf(failed);
            String name = failed.getTestDescriptor().getDisplayName(); // "repetition 3 of 6"
            String n = name.replaceAll("repetition (\\d+) of 6", "$1");
            assertTrue(msg.contains("warns-" + n + ".dmesg"), name + ": " + msg);
        }
    }

    @Test
    void aTestThatFailsByItselfKeepsItsLogAndItsOwnMessage() {
        String msg = failureMessage(run(ExtensionFixtures.FailsItself.class));
        assertEquals("the test's own failure", msg);
        assertTrue(Files.exists(dmesgOf(ExtensionFixtures.FailsItself.class, "fails.dmesg")));
    }

    @Test
    void aPassingTestRemovesTheLogOfAnEarlierFailure() throws Exception {
        Path stale = dmesgOf(ExtensionFixtures.Clean.class, "createsAFile.dmesg");
        Files.createDirectories(stale.getParent());
        Files.writeString(stale, "an earlier run's log");
        assertEquals(1, run(ExtensionFixtures.Clean.class).succeeded().count());
        assertFalse(Files.exists(stale));
    }

    @Test
    void byDefaultTheLogGoesUnderTargetJbtrfs() throws Exception {
        Events e = EngineTestKit.engine("junit-jupiter").selectors(selectClass(ExtensionFixtures.WarnsADozenTimes.class))
            .execute().testEvents();
        Path file = Path.of("target", "jbtrfs", ExtensionFixtures.WarnsADozenTimes.class.getName(), "warns.dmesg")
            .toAbsolutePath();
        assertTrue(failureMessage(e).contains(file.toString()), failureMessage(e));
        assertTrue(Files.exists(file));
        Files.delete(file);
    }
}
