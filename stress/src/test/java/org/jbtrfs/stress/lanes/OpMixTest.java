package org.jbtrfs.stress.lanes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Swarm testing's operation mixes: deterministic per cycle, uniform over the operations left in, the identity otherwise. */
class OpMixTest {
    private static final double[] QUOTA = {0.2, 0.55, 0.65, 0.7, 0.92, 1.0};

    @Test
    void withoutSwarmEveryCycleDrawsAsBefore() {
        for (long seed = 0; seed < 200; seed++) {
            OpMix m = OpMix.of("quota", seed, 0, QUOTA);
            assertTrue(m.all());
            for (double u = 0; u < 1; u += 0.013) {
                assertEquals(u, m.remap(u));
            }
        }
        assertEquals(0.3, OpMix.ALL.remap(0.3));
    }

    @Test
    void aSwarmMixDrawsOnlyTheOperationsLeftInAtLeastOne() {
        int partial = 0;
        for (long seed = 0; seed < 500; seed++) {
            OpMix m = OpMix.of("quota", seed, 1, QUOTA);
            boolean any = false;
            for (int i = 0; i < QUOTA.length; i++) {
                any |= m.has(i);
            }
            assertTrue(any, "seed " + seed + ": no operation left in");
            partial += m.all() ? 0 : 1;
            for (int k = 0; k < 1000; k++) {
                double v = m.remap(k / 1000.0);
                assertTrue(m.has(interval(v)), "seed " + seed + ": " + k / 1000.0 + " -> " + v + " in an operation left out (" + m + ")");
            }
            assertTrue(m.has(interval(m.remap(Math.nextDown(1.0)))));
        }
        // each of six operations in with probability 1/2: all six in 1 time in 64
        assertTrue(partial > 450, partial + " of 500 swarm mixes left something out");
    }

    @Test
    void theOperationsLeftInKeepTheirRelativeWeights() {
        for (long seed = 0; seed < 50; seed++) {
            OpMix m = OpMix.of("file", seed, 1, QUOTA);
            int[] n = new int[QUOTA.length];
            int draws = 100_000;
            for (int k = 0; k < draws; k++) {
                n[interval(m.remap((k + 0.5) / draws))]++;
            }
            double total = 0;
            for (int i = 0; i < QUOTA.length; i++) {
                total += m.has(i) ? width(i) : 0;
            }
            for (int i = 0; i < QUOTA.length; i++) {
                double want = m.has(i) ? width(i) / total : 0;
                assertEquals(want, n[i] / (double) draws, 1e-3, "seed " + seed + " operation " + i + " (" + m + ")");
            }
        }
    }

    @Test
    void aCyclesMixIsItsSeedsAndEachLaneDrawsItsOwn() {
        int differ = 0;
        for (long seed = 0; seed < 100; seed++) {
            assertEquals(OpMix.of("quota", seed, 0.5, QUOTA).toString(), OpMix.of("quota", seed, 0.5, QUOTA).toString());
            differ += OpMix.of("quota", seed, 1, QUOTA).toString().equals(OpMix.of("quota2", seed, 1, QUOTA).toString()) ? 0 : 1;
        }
        assertTrue(differ > 80, differ + " of 100 cycles gave two lanes different mixes");
    }

    @Test
    void theSwarmProbabilityIsHowOftenALaneLeavesSomethingOut() {
        int swarmed = 0;
        for (long seed = 0; seed < 4000; seed++) {
            swarmed += OpMix.of("sync", seed, 0.25, 0.5, 0.8, 1.0).all() ? 0 : 1;
        }
        // 0.25 × (1 − 1/8: the three operations all in by chance) ≈ 0.219
        assertEquals(0.219, swarmed / 4000.0, 0.03);
    }

    @Test
    void badMixesAreRefusedByName() {
        assertThrows(IllegalArgumentException.class, () -> OpMix.of("quota", 1, 1.5, QUOTA));
        assertThrows(IllegalArgumentException.class, () -> OpMix.of("quota", 1, Double.NaN, QUOTA));
        assertThrows(IllegalArgumentException.class, () -> OpMix.of("quota", 1, 0.5, 0.2, 0.9));
        assertThrows(IllegalArgumentException.class, () -> OpMix.of("quota", 1, 0.5, 0.5, 0.2, 1.0));
        assertThrows(IllegalArgumentException.class, () -> OpMix.of("quota", 1, 0.5));
        assertFalse(OpMix.of("quota", 3, 1, 1.0).toString().isEmpty());
    }

    private static int interval(double v) {
        for (int i = 0; i < QUOTA.length; i++) {
            if (v < QUOTA[i]) {
                return i;
            }
        }
        throw new AssertionError(v + " is not below 1");
    }

    private static double width(int i) { return QUOTA[i] - (i == 0 ? 0 : QUOTA[i - 1]); }
}
