package org.jbtrfs.junit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.fs.internal.Internals;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.BtrfsModule;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Test classes the extension's own tests run through EngineTestKit. Surefire skips nested classes,
 * so these run only there; each one's outcome is asserted by {@link BtrfsExtensionTest}.
 */
final class ExtensionFixtures {
    private ExtensionFixtures() { }

    @BtrfsTest
    static class Clean {
        @Test
        void createsAFile(Btrfs fs, BtrfsModule module, BlockDevice dev) {
            fs.createFile("a");
            assertEquals(java.util.List.of("a"), fs.list(""));
            assertEquals("sdc", dev.name());
            assertTrue(module.isLoaded());
        }
    }

    @BtrfsTest
    static class LeaksASlabObject {
        @Test
        void forgetsToFree(BtrfsModule module) {
            Internals.kernel(module).slabs().cache("btrfs_path").alloc();
        }
    }

    @BtrfsTest
    static class DeclaresALeakThatDoesNotHappen {
        @Test
        @ExpectKernelSymptoms(KernelSymptom.SLAB_LEAK)
        void freesEverything(Btrfs fs) {
            fs.createFile("a");
        }
    }

    @BtrfsTest
    static class DeclaresItsLeakThroughTheHandle {
        @Test
        void forgetsToFreeOnPurpose(BtrfsModule module, KernelSymptoms symptoms) {
            symptoms.expect(KernelSymptom.SLAB_LEAK);
            Internals.kernel(module).slabs().cache("btrfs_path").alloc();
        }
    }

    @BtrfsTest
    static class LeavesAFileOpen {
        @Test
        void opensAndForgets(Btrfs fs) {
            fs.createFile("a");
            fs.open("a");
        }
    }

    @BtrfsTest(mount = BtrfsTest.UNMOUNTED)
    static class AsksForAFilesystemThatIsNotMounted {
        @Test
        void wantsOne(Btrfs fs) {
            fs.createFile("a");
        }
    }

    static class Registered {
        @RegisterExtension
        final BtrfsExtension btrfs = BtrfsExtension.builder().revert(FixSwitch.TRANS_LIST_ASSERT).mount("ro").build();

        @Test
        void getsAReadOnlyMountOfAKernelWithoutPatch4(Btrfs fs, BtrfsModule module) {
            assertTrue(fs.isReadOnly());
            assertTrue(module.config().reverted(FixSwitch.TRANS_LIST_ASSERT));
        }
    }

    @BtrfsTest
    static class RegisteredTwice {
        @RegisterExtension
        final BtrfsExtension btrfs = BtrfsExtension.builder().build();

        @Test
        void neverRuns(Btrfs fs) {
            fs.createFile("a");
        }
    }

    /** Twelve WARN_ONs from the test's own stack (some twenty frames each, most of them JUnit's). */
    @BtrfsTest(mkfs = false)
    static class WarnsADozenTimes {
        @Test
        void warns(BtrfsModule module) {
            for (int i = 0; i < 12; i++) {
                module.log().warnOn(true, "fixture.c", i, "warn_" + i);
            }
        }
    }

    /** Six invocations, run in parallel, each warning under its own name: each must get its own log file. */
    @BtrfsTest(mkfs = false)
    @Execution(ExecutionMode.CONCURRENT)
    static class WarnInParallel {
        @RepeatedTest(6)
        void warns(BtrfsModule module, RepetitionInfo info) {
            module.log().warnOn(true, "fixture.c", info.getCurrentRepetition(), "warn_in_repetition_" + info.getCurrentRepetition());
        }
    }

    /** Fails in its own body; the kernel has nothing to say. */
    @BtrfsTest
    static class FailsItself {
        @Test
        void fails(Btrfs fs) {
            fs.createFile("a");
            throw new AssertionError("the test's own failure");
        }
    }

    /**
     * Patch 2/5 and 4/5 reverted: the RO mount's transaction leaks to the teardown, which reports it as the
     * 5.10 kernel does — WARNINGs from close_ctree's teardown, slab and state leaks — none of it declared.
     */
    @BtrfsTest(revert = {FixSwitch.ORPHAN_ROOTS_RO_MOUNT, FixSwitch.TRANS_LIST_ASSERT})
    static class LeaksATransactionToTheTeardown {
        @Test
        void mountsRoOverAStrayOrphanItem(BtrfsModule mod, BlockDevice dev, Btrfs fs) {
            OrphanRootsReproducerTest.strayOrphanThenRoMount(mod, dev, fs);
        }
    }
}
