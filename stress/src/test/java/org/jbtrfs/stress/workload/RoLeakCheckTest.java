package org.jbtrfs.stress.workload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.BtrfsModule;
import org.jbtrfs.stress.classify.Classifier;
import org.jbtrfs.stress.classify.Observation;
import org.jbtrfs.stress.classify.Signature;
import org.jbtrfs.stress.classify.Symptom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The RO-leak oracle on patch 2/5's own scenario: a stray orphan item (its delete failed with ENOMEM), umount, mount
 * -o ro — with the patch reverted btrfs_find_orphan_roots joins a transaction on the read-only mount. At umount
 * patch 4/5's assertion would catch it; but when the filesystem is remounted read-write first, the remount's
 * transactions commit the leaked one and nothing is left to see. The check before the RW remount sees it, and the
 * classifier names the switch; with the patch applied it sees nothing.
 */
class RoLeakCheckTest {

    @ParameterizedTest(name = "patch 2/5 applied={0}")
    @ValueSource(booleans = {true, false})
    void aTransactionOpenOnAnRoMountIsALeakBeforeTheRwRemountCommitsIt(boolean applied) {
        KernelConfig c = applied ? KernelConfig.defaults() : KernelConfig.defaults().revert(FixSwitch.ORPHAN_ROOTS_RO_MOUNT);
        try (BtrfsModule mod = BtrfsModule.load(c)) {
            var dev = mod.createDevice("sdb", 64L << 20);
            mod.mkfs(dev);
            Btrfs fs = mod.mount(dev, "");
            fs.createSubvolume("sv");
            fs.deleteSubvolume("sv");
            mod.faults().armOnce(Fault.DEL_ORPHAN_ITEM_ENOMEM);
            fs.runCleanerPass(Duration.ofSeconds(10));
            assertEquals(1, mod.faults().fired(Fault.DEL_ORPHAN_ITEM_ENOMEM), "the drop left its orphan item");
            fs.umount();

            Btrfs ro = mod.mount(dev, "ro");
            Observation obs = new Observation();
            boolean found = RoLeakCheck.check(ro::inspect, obs, "lifecycle");
            assertEquals(!applied, found);
            if (applied) {
                assertNull(obs.roLeak);
            } else {
                Classifier.Verdict v = Classifier.classify(obs, EnumSet.of(FixSwitch.ORPHAN_ROOTS_RO_MOUNT));
                assertEquals(Set.of(Symptom.RO_LEAK), v.symptoms());
                assertTrue(v.bugs().contains(FixSwitch.ORPHAN_ROOTS_RO_MOUNT.kebab()), v.bugs().toString());
                assertEquals("leak:btrfs_find_orphan_roots", Signature.of(obs, v.symptoms()).text().replaceAll("@.*", ""));
            }
            ro.remount("rw"); // its transactions commit whatever was open
            ro.sync();
            assertTrue(ro.inspect().openTransactions().isEmpty(), "nothing left for an umount to see");
            assertFalse(RoLeakCheck.check(ro::inspect, new Observation(), "lifecycle"), "read-write: not asked");
            ro.umount();
            assertTrue(mod.unload().clean(), mod.log().dmesg());
        }
    }
}
