package org.jbtrfs.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;
import org.junit.jupiter.api.Test;

class FaultsTest {
    private static final Fault F = Fault.DEL_ORPHAN_ITEM_ENOMEM;
    private final Faults faults = new Faults();

    @Test
    void unarmedSitesNeverFail() {
        for (Fault f : Fault.values()) {
            assertFalse(faults.shouldFail(f));
            assertEquals(0, faults.fired(f));
        }
        assertEquals(Errno.ENOMEM, F.errno());
    }

    @Test
    void onceFailsExactlyOnce() {
        faults.armOnce(F);
        assertFalse(faults.shouldFail(Fault.COMMIT_TRANSACTION_EIO), "other sites unaffected");
        assertTrue(faults.shouldFail(F));
        assertFalse(faults.shouldFail(F));
        assertFalse(faults.shouldFail(F));
        assertEquals(1, faults.fired(F));
    }

    /** A device's arm fails only the calls made for that device; the module-wide arm is the fallback for the others. */
    @Test
    void aDevicesArmFailsOnlyThatDevicesCalls() {
        faults.armProbability(Fault.COMMIT_TRANSACTION_EIO, 1.0, 7, "sdc");
        assertTrue(faults.shouldFail(Fault.COMMIT_TRANSACTION_EIO, "sdc"));
        assertFalse(faults.shouldFail(Fault.COMMIT_TRANSACTION_EIO, "sdd"), "another filesystem's calls");
        assertFalse(faults.shouldFail(Fault.COMMIT_TRANSACTION_EIO), "a call that names no device");
        faults.armOnce(Fault.COMMIT_TRANSACTION_EIO);
        assertTrue(faults.shouldFail(Fault.COMMIT_TRANSACTION_EIO, "sdd"), "the module-wide arm, for a device without its own");
        faults.disarm(Fault.COMMIT_TRANSACTION_EIO, "sdc");
        assertFalse(faults.shouldFail(Fault.COMMIT_TRANSACTION_EIO, "sdc"), "disarmed; the module-wide arm was used up");
        assertEquals(2, faults.fired(Fault.COMMIT_TRANSACTION_EIO));
        assertThrows(IllegalArgumentException.class, () -> faults.armProbability(Fault.COMMIT_TRANSACTION_EIO, 0.5, 1, ""));
        assertThrows(IllegalArgumentException.class, () -> faults.armProbability(Fault.COMMIT_TRANSACTION_EIO, 2, 1, "sdc"));
        faults.armProbability(Fault.ORPHAN_CLEANUP_ENOMEM, 1.0, 7, null); // a null device: module-wide
        assertTrue(faults.shouldFail(Fault.ORPHAN_CLEANUP_ENOMEM, "sde"));
        faults.disarm(Fault.ORPHAN_CLEANUP_ENOMEM, null);
        assertFalse(faults.shouldFail(Fault.ORPHAN_CLEANUP_ENOMEM, "sde"));
        faults.armProbability(Fault.START_TRANSACTION_ENOSPC, 1.0, 7, "sdc");
        faults.reset();
        assertFalse(faults.shouldFail(Fault.START_TRANSACTION_ENOSPC, "sdc"), "reset disarms the devices' arms too");
    }

    @Test
    void nTimesFailsTheNextNCalls() {
        faults.arm(F, 3);
        int failed = 0;
        for (int i = 0; i < 10; i++) {
            if (faults.shouldFail(F)) {
                assertTrue(i < 3, "failures are the first calls");
                failed++;
            }
        }
        assertEquals(3, failed);
        assertEquals(3, faults.fired(F));
    }

    private BitSet sequence(double p, long seed, int n) {
        faults.armProbability(F, p, seed);
        BitSet b = new BitSet(n);
        for (int i = 0; i < n; i++) {
            b.set(i, faults.shouldFail(F));
        }
        return b;
    }

    @Test
    void aSeededProbabilityReplaysTheSameFailures() {
        BitSet first = sequence(0.3, 42, 1000);
        BitSet replay = sequence(0.3, 42, 1000);
        BitSet other = sequence(0.3, 43, 1000);

        assertEquals(first, replay, "same seed, same calls fail");
        assertNotEquals(first, other);
        assertTrue(first.cardinality() > 200 && first.cardinality() < 400, "about 30%: " + first.cardinality());
        assertEquals(first.cardinality() + replay.cardinality() + other.cardinality(), faults.fired(F));
    }

    @Test
    void probabilityBounds() {
        assertEquals(0, sequence(0.0, 1, 100).cardinality());
        assertEquals(100, sequence(1.0, 1, 100).cardinality());
        assertThrows(IllegalArgumentException.class, () -> faults.armProbability(F, 1.5, 1));
        assertThrows(IllegalArgumentException.class, () -> faults.armProbability(F, -0.1, 1));
        assertThrows(IllegalArgumentException.class, () -> faults.armProbability(F, Double.NaN, 1));
        assertThrows(IllegalArgumentException.class, () -> faults.arm(F, 0));
    }

    @Test
    void disarmAndResetStopFailures() {
        faults.arm(F, 5);
        faults.disarm(F);
        assertFalse(faults.shouldFail(F));
        faults.arm(F, 5);
        faults.arm(Fault.ORPHAN_CLEANUP_ENOMEM, 5);
        faults.reset();
        assertFalse(faults.shouldFail(F));
        assertFalse(faults.shouldFail(Fault.ORPHAN_CLEANUP_ENOMEM));
        faults.armOnce(F);
        assertTrue(faults.shouldFail(F), "usable after reset");
    }
}
