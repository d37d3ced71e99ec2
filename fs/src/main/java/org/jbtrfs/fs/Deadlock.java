package org.jbtrfs.fs;

import java.util.List;

/**
 * A deadlock of a module's tasks ({@link BtrfsModule#deadlock()}): a set of tasks none of which can ever wake, because
 * each waits for one of them — through a mutex, a commit's wait for its writers, a wait for a transaction's state, the
 * qgroup rescan's completion or a kthread_park/kthread_stop. Lockdep names a cycle of lock classes before it closes;
 * this is the cycle that has closed, including waits lockdep does not see (a completion has no owner). The kernel would
 * show it as hung tasks after hung_task_timeout_secs.
 *
 * @param tasks the names of the stuck tasks (the cycle and every task waiting behind it), sorted
 * @param cycle one cycle, a line per task: {@code "quota-disable: wait_for_completion(qgroup_rescan_completion) ->
 * btrfs1-kworker/u4:1"}
 * @param description the cycle and the tasks behind it, as the stress runner's hang report prints them
 */
public record Deadlock(List<String> tasks, List<String> cycle, String description) {
    public Deadlock {
        tasks = List.copyOf(tasks);
        cycle = List.copyOf(cycle);
    }

    @Override
    public String toString() { return description; }
}
