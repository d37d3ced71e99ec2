package org.jbtrfs.stress;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookListener;

/**
 * The module's hook listener: routes each arrival to the lane of the filesystem the arriving thread
 * works for. With one filesystem every thread belongs to it. With several, drivers and kthreads are
 * registered at mount; pooled kworkers cannot be told apart and share one extra lane, whose decisions
 * are not replayable.
 */
final class Perturbation implements HookListener {
    private final Lane[] lanes;
    private final Lane shared;
    private final Map<Thread, Lane> byThread = new ConcurrentHashMap<>();

    Perturbation(Lane[] lanes, Lane shared) {
        this.lanes = lanes;
        this.shared = shared;
    }

    void register(Thread t, Lane lane) {
        if (t != null) {
            byThread.put(t, lane);
        }
    }

    @Override
    public void arrived(Hook hook, Thread thread) {
        Lane lane = lanes.length == 1 ? lanes[0] : byThread.getOrDefault(thread, shared);
        lane.arrive(hook, thread);
    }
}
