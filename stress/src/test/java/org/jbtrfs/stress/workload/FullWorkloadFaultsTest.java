package org.jbtrfs.stress.workload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.Map;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.stress.StressOptions;
import org.junit.jupiter.api.Test;

/**
 * {@code --workload full --faults …} (stop 23): the single-driver workload arms the lanes' fault plan after its
 * mount, and an error the plan injects — or the read-only filesystem its abort leaves — ends the cycle's
 * operations as a user's script would stop, then the cycle unmounts as always. Without error-path faults (the
 * default) nothing changes: no error is an injected one, and the workload's own stream is not drawn from.
 */
class FullWorkloadFaultsTest {
    private static BtrfsException e(Errno errno) { return new BtrfsException(errno, "test"); }

    @Test
    void withNoFaultArmedNoErrorEndsTheCycleQuietly() {
        for (Errno errno : Errno.values()) {
            assertFalse(FullWorkload.endedByInjectedFault(FaultPlan.NONE, e(errno)), errno.name());
        }
        // the default --faults (drop_snapshot's ENOMEM only) draws no error-path site
        for (long seed = 0; seed < 200; seed++) {
            assertTrue(FaultPlan.of(seed, StressOptions.DEFAULT_FAULTS).probabilities().isEmpty());
        }
    }

    @Test
    void anArmedSitesErrorAndWhatItsAbortLeavesEndTheOperations() {
        FaultPlan eio = new FaultPlan(Map.of(Fault.COMMIT_TRANSACTION_EIO, 0.1), 1);
        assertTrue(FullWorkload.endedByInjectedFault(eio, e(Errno.EIO)));
        assertTrue(FullWorkload.endedByInjectedFault(eio, e(Errno.EROFS)), "the filesystem the abort forced read-only");
        assertTrue(FullWorkload.endedByInjectedFault(eio, e(Errno.EINVAL)), "remounting read-write after the error");
        assertFalse(FullWorkload.endedByInjectedFault(eio, e(Errno.ENOSPC)), "no ENOSPC site armed");
        assertFalse(FullWorkload.endedByInjectedFault(eio, e(Errno.ENOENT)), "a vanished name is the workload's bug");
        assertFalse(FullWorkload.endedByInjectedFault(eio, e(Errno.EBUSY)));
        // a read of a block the aborted transaction never wrote (its buffer dropped by btrfs_destroy_marked_extents)
        // answers what the disk holds: accepted only on an aborted filesystem, which the workload asks the kernel
        assertTrue(FullWorkload.unwrittenBlockRead(e(Errno.EUCLEAN)) && FullWorkload.unwrittenBlockRead(e(Errno.EIO)));
        assertFalse(FullWorkload.unwrittenBlockRead(e(Errno.ENOENT)));
        FaultPlan enospc = new FaultPlan(Map.of(Fault.START_TRANSACTION_ENOSPC, 0.02), 1);
        assertTrue(FullWorkload.endedByInjectedFault(enospc, e(Errno.ENOSPC)));
        assertEquals(EnumSet.of(Errno.ENOSPC), enospc.errnos());
    }
}
