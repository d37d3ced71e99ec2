package org.jbtrfs.fs.junit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Event;
import org.junit.platform.testkit.engine.Events;

/** The extension judged by running its fixtures (ExtensionFixtures) through the Jupiter engine. */
class BtrfsExtensionTest {
    private static Events run(Class<?> fixture) {
        return EngineTestKit.engine("junit-jupiter").selectors(selectClass(fixture)).execute().testEvents();
    }

    private static String failureMessage(Events events) {
        List<Event> failed = events.failed().list();
        assertEquals(1, failed.size(), "exactly one failing test expected");
        Throwable t = failed.get(0).getPayload(org.junit.platform.engine.TestExecutionResult.class).orElseThrow()
            .getThrowable().orElseThrow();
        return t.getMessage();
    }

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
}
