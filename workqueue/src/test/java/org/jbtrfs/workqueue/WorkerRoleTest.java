package org.jbtrfs.workqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jbtrfs.core.Role;
import org.jbtrfs.core.WorkOwner;
import org.junit.jupiter.api.Test;

/** A kworker serves Role.WORKER while it runs works; a work may narrow it (the qgroup rescan worker does). */
class WorkerRoleTest extends PoolFixture {
    @Override
    int poolThreads() { return 2; }

    @Test
    void aWorkRunsAsAWorkerAndAWrappedOneAsItsOwnRole() {
        BtrfsWorkqueue q = queue("qgroup-rescan", 1, 0);
        List<Role> seen = new CopyOnWriteArrayList<>();
        q.queueWork(new BtrfsWork(() -> seen.add(Role.current())));
        q.queueWork(new BtrfsWork(Role.RESCAN_WORKER.wrap(() -> seen.add(Role.current()))));
        q.queueWork(new BtrfsWork(() -> seen.add(Role.current())));
        q.flush();
        q.destroy();
        assertEquals(List.of(Role.WORKER, Role.RESCAN_WORKER, Role.WORKER), seen);
        assertEquals(Role.USER, Role.current(), "the caller that queued them is a user task");
    }

    /** A work runs marked with its queue's device ({@link WorkOwner}); the mark is gone once the work is done. */
    @Test
    void aWorkRunsMarkedWithItsQueuesDevice() {
        BtrfsWorkqueue q = queue("endio", 1, 0);
        List<String> seen = new CopyOnWriteArrayList<>();
        q.queueWork(new BtrfsWork(() -> seen.add(WorkOwner.device())));
        q.flush();
        q.queueWork(new BtrfsWork(() -> seen.add(WorkOwner.device())));
        q.flush();
        q.destroy();
        assertEquals(List.of(q.device(), q.device()), seen);
        assertEquals(null, WorkOwner.device(), "the queueing thread serves no work");
    }
}
