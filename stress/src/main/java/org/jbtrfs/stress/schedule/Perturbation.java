package org.jbtrfs.stress.schedule;

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
public final class Perturbation implements HookListener {
    private final ScheduleScope[] lanes;
    private final ScheduleScope shared;
    private final Map<Thread, ScheduleScope> byThread = new ConcurrentHashMap<>();

    public Perturbation(ScheduleScope[] lanes, ScheduleScope shared) {
        this.lanes = lanes;
        this.shared = shared;
    }

    public void register(Thread t, ScheduleScope lane) {
        byThread.keySet().removeIf(old -> !old.isAlive()); // the kthreads of earlier mounts (a map per mount would grow)
        if (t != null) {
            byThread.put(t, lane);
        }
    }

    /** A lane's thread ("lane:file:2") belongs to its filesystem's scope; anything else unknown to the shared one. */
    private ScheduleScope laneScope(String name) {
        if (name.startsWith("lane:")) {
            int at = name.lastIndexOf(':');
            try {
                int fs = Integer.parseInt(name.substring(at + 1));
                if (fs >= 0 && fs < lanes.length) {
                    return lanes[fs];
                }
            } catch (NumberFormatException ignored) {
                // not a lane of ours
            }
        }
        return shared;
    }

    @Override
    public void arrived(Hook hook, Thread thread) {
        ScheduleScope lane = lanes.length == 1 ? lanes[0] : byThread.getOrDefault(thread, null);
        if (lane == null) {
            lane = laneScope(thread.getName());
        }
        lane.arrive(hook, thread);
    }
}
