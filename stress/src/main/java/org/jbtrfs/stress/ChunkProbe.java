package org.jbtrfs.stress;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.BtrfsModule;
import org.jbtrfs.transaction.Mkfs;

/**
 * Can this build allocate a second data chunk? The fill-and-empty step (patch 3/5's block-group
 * window) needs it, and at the time of writing it cannot: {@code Transactions.end} marks the handle
 * ended before {@code createPendingBlockGroups} inserts the new block group item through it, which
 * throws IllegalStateException and leaves the transaction with a writer that never leaves, so every
 * later commit waits forever. Running the step then would fail every cycle (and hang the next
 * commit), so the runner probes once per JVM and leaves the step out, saying so, until it works.
 * A failed probe leaves its wedged module behind (its kthreads are daemon threads).
 */
final class ChunkProbe {
    private static volatile Boolean works;
    private static volatile String why = "";

    private ChunkProbe() { }

    static synchronized boolean works() {
        if (works == null) {
            CompletableFuture<String> f = CompletableFuture.supplyAsync(ChunkProbe::probe);
            try {
                why = f.get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                why = "probe did not finish: " + e;
            }
            works = why.isEmpty();
        }
        return works;
    }

    static String why() { return why; }

    private static String probe() {
        BtrfsModule mod = BtrfsModule.load(KernelConfig.defaults());
        BlockDevice dev = mod.createDevice("probe", ModuleHost.DEVICE_SIZE);
        mod.mkfs(dev);
        Btrfs fs = mod.mount(dev, "");
        int n = (int) (Mkfs.dataChunkSize(ModuleHost.DEVICE_SIZE) >> 20) + 1;
        try {
            for (int i = 0; i < n; i++) {
                fs.createFile("big" + i);
                fs.writeFile("big" + i, new byte[1 << 20]);
            }
        } catch (RuntimeException e) {
            StackTraceElement[] st = e.getStackTrace();
            return e + (st.length > 0 ? " at " + st[0] : "");
        }
        fs.umount();
        mod.unload();
        return "";
    }
}
