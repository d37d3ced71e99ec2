package org.jbtrfs.transaction.space;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.ManualClock;
import org.junit.jupiter.api.Test;

/**
 * DECLARE_SPACE_INFO_UPDATE (fs/btrfs/space-info.h, v5.11): btrfs_space_info_update_bytes_may_use and _bytes_pinned WARN_ON
 * a decrease below zero and leave the counter at 0 — an accounting bug the kernel reports and survives. Stop 61: the port
 * subtracted silently, so the explorer could not see such a bug; now it is a WARNING, which fails a cycle.
 */
class SpaceInfoUpdateTest {
    @Test
    void givingBackMoreThanWasReservedWarnsAndLeavesZero() {
        KernelLog log = new KernelLog(64, new ManualClock());
        SpaceManager sm = new SpaceManager(64L << 20, 1L << 20, 8L << 20, 8L << 20);
        sm.log(log);
        sm.addBlockGroup(1L << 20, 8L << 20, BlockGroupType.DATA, 0);
        sm.reservations.freeDataBytesMayUse(4096);
        assertEquals(1, log.count(LogEntry.Kind.WARNING), log.dmesg());
        assertEquals(0, sm.counters(BlockGroupType.DATA).mayUse());
    }
}
