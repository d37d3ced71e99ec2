package org.jbtrfs.stress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.LongPredicate;
import org.junit.jupiter.api.Test;

/** n shards of one seed and cycle bound run exactly the cycles of the unsharded run, each once. */
class ShardTest {
    /** The cycles a driver runs over {@code range} when the cycles {@code fails} fail (a failure ends its epoch). */
    private static List<Long> walk(CycleRange range, LongPredicate fails) {
        List<Long> run = new ArrayList<>();
        for (long c = range.first(); c >= 0; c = fails.test(c) ? range.nextEpoch(c) : range.next(c)) {
            run.add(c);
        }
        return run;
    }

    @Test
    void shardsPartitionTheCyclesOfTheWholeRun() {
        LongPredicate fails = c -> c == 3 || c == 37 || c == 40 || c == 95 || c % 29 == 7;
        for (long cycles : new long[] {1, 15, 16, 17, 64, 100, 333}) {
            for (int filesystems : new int[] {1, 2, 3}) {
                for (int n = 1; n <= 5; n++) {
                    for (int fs = 0; fs < filesystems; fs++) {
                        List<Long> whole = walk(CycleRange.of(cycles, filesystems, fs, Shard.ALL), fails);
                        Set<Long> union = new TreeSet<>();
                        int total = 0;
                        for (int i = 1; i <= n; i++) {
                            List<Long> part = walk(CycleRange.of(cycles, filesystems, fs, new Shard(i, n)), fails);
                            for (long c : part) {
                                assertTrue(new Shard(i, n).owns(c / Seeds.EPOCH), "shard " + i + "/" + n + " ran cycle " + c);
                            }
                            union.addAll(part);
                            total += part.size();
                        }
                        String what = cycles + " cycles, fs " + fs + " of " + filesystems + ", " + n + " shards";
                        assertEquals(new TreeSet<>(whole), union, what);
                        assertEquals(whole.size(), total, "disjoint: " + what);
                    }
                }
            }
        }
    }

    @Test
    void cyclesSplitOverTheFilesystems() {
        assertEquals(List.of(0L, 1L, 2L), walk(CycleRange.of(5, 2, 0, Shard.ALL), c -> false));
        assertEquals(List.of(0L, 1L), walk(CycleRange.of(5, 2, 1, Shard.ALL), c -> false));
        assertEquals(-1, CycleRange.of(1, 2, 1, Shard.ALL).first(), "nothing left for the second filesystem");
    }

    @Test
    void aShardWalksItsOwnEpochsAndAFailureEndsOne() {
        CycleRange second = CycleRange.of(Long.MAX_VALUE, 1, 0, new Shard(2, 3));
        assertEquals(16, second.first());
        assertEquals(17, second.next(16));
        assertEquals(64, second.next(31), "after its epoch 1, its epoch 4");
        assertEquals(64, second.nextEpoch(20), "a failure at 20 ends epoch 1");
    }

    @Test
    void badShardsAreRefused() {
        for (String bad : new String[] {"3/2", "0/0", "1/0", "0/3", "x/y", "2", "/3", "2/", "-1/3"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Shard.parse(bad));
            assertTrue(e.getMessage().contains("'" + bad + "' is not a shard"), e.getMessage());
        }
        assertEquals(new Shard(3, 3), Shard.parse(" 3/3 "));
        assertEquals("2/5", new Shard(2, 5).toString());
    }
}
