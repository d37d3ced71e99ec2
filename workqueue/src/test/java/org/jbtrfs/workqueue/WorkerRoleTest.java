package org.jbtrfs.workqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jbtrfs.core.Role;
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
}
