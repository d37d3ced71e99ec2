package org.jbtrfs.fs.junit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.BtrfsModule;
import org.junit.jupiter.api.Test;
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
            module.kernel().slabs().cache("btrfs_path").alloc();
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
            module.kernel().slabs().cache("btrfs_path").alloc();
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
}
