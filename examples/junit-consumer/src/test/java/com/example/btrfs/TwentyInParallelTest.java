package com.example.btrfs;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.BtrfsModule;
import org.jbtrfs.junit.BtrfsTest;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;

/**
 * Twenty tests at once (src/test/resources/junit-platform.properties turns parallel execution on): each parks
 * its own cleaner at a hook, writes its own file and finds nothing of the others — its own module, device,
 * hooks and log.
 */
@BtrfsTest
class TwentyInParallelTest {
    private static final Hook IPUT = Hook.CLEANER_BEFORE_DELAYED_IPUT;
    private static final Set<Object> MODULES = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
    private static final Set<Object> DEVICES = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
    private static final Set<String> KERNELS = ConcurrentHashMap.newKeySet();
    /** The first two tests wait for each other: if they did not run at the same time, both fail. */
    private static final CountDownLatch TWO_AT_ONCE = new CountDownLatch(2);

    @RepeatedTest(20)
    void eachTestHasTheKernelToItself(BtrfsModule mod, BlockDevice dev, Btrfs fs, RepetitionInfo rep) throws Exception {
        TWO_AT_ONCE.countDown();
        assertTrue(TWO_AT_ONCE.await(30, TimeUnit.SECONDS), "the tests did not run in parallel");
        assertTrue(MODULES.add(mod) && DEVICES.add(dev) && KERNELS.add(mod.name()), "shared with another test");

        String mine = "file-of-test-" + rep.getCurrentRepetition();
        fs.createFile(mine);
        fs.writeFile(mine, new byte[4096 * rep.getCurrentRepetition()]);

        fs.runCleanerPass(Duration.ofSeconds(30));             // our cleaner asleep, its first passes over
        mod.hooks().parkAt(IPUT, Role.CLEANER);                // our cleaner only; no other test's thread comes here
        fs.open(mine).closeFromWorker();                       // a block more, its ordered extent's delayed iput
                                                               // wakes our sleeping cleaner...
        // ...unless the transaction kthread's wake-up had it mid-pass: btrfs_add_delayed_iput does not wake a running
        // cleaner, as in the kernel, and that pass is past its delayed iputs. Then an explicit wake starts the pass.
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            if (!mod.hooks().isParked(IPUT)) {
                fs.wakeCleaner();                              // false while it runs: asked again at the next poll
            }
            return mod.hooks().isParked(IPUT);
        });
        assertEquals(1, mod.hooks().arrivals(IPUT));
        mod.hooks().release(IPUT);
        fs.runCleanerPass(Duration.ofSeconds(30));             // the parked pass ended, one more ran

        assertEquals(List.of(mine), fs.list(""));
        assertEquals(4096L * (rep.getCurrentRepetition() + 1), fs.fileSize(mine));
        assertEquals(List.of(), fs.inspect().delayedIputs());
        assertEquals(1, mod.log().matching(e -> e.message().contains("disk space caching is enabled")).size(),
            "one mount in this kernel's log: ours");
    }
}
