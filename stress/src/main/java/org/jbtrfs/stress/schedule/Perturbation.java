package org.jbtrfs.stress.schedule;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookListener;
import org.jbtrfs.core.WorkOwner;

/**
 * The module's hook listener: routes each arrival to the lane of the filesystem the arriving thread
 * works for. With one filesystem every thread belongs to it. With several, each driver thread is registered
 * at its cycle's start, a lane's thread is known by its name, and a pooled kworker or a kthread by the
 * device it serves ({@link WorkOwner}: set by the workqueue, by a filesystem's work on a system queue and
 * around a filesystem's kthread — from its first arrival, before the mount that started it returns; until
 * stop 59 kthreads were registered after the mount, and the btrfs-uuid kthread never); an arrival of any
 * other thread goes to the shared scope, which perturbs nothing.
 */
public final class Perturbation implements HookListener {
    private final ScheduleScope[] lanes;
    private final ScheduleScope shared;
    private final Map<Thread, ScheduleScope> byThread = new ConcurrentHashMap<>();
    private final Map<String, ScheduleScope> byDevice = new ConcurrentHashMap<>();

    public Perturbation(ScheduleScope[] lanes, ScheduleScope shared) {
        this.lanes = lanes;
        this.shared = shared;
    }

    /** A driver thread's arrivals belong to {@code lane} (each cycle registers its driver again). */
    public void register(Thread driver, ScheduleScope lane) {
        byThread.keySet().removeIf(old -> !old.isAlive()); // drivers of an ended run
        byThread.put(driver, lane);
    }

    /** The works queued for {@code device}'s filesystem belong to {@code lane} (its driver's). */
    public void registerDevice(String device, ScheduleScope lane) {
        byDevice.put(device, lane);
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
        lane(thread).arrive(hook, thread);
    }

    /**
     * The arriving thread's filesystem: a work's device first (pool threads are lent again and again, also to
     * kthreads, so a work's mark beats a stale registration), then a registered driver, then a lane's name.
     */
    private ScheduleScope lane(Thread thread) {
        if (lanes.length == 1) {
            return lanes[0];
        }
        String device = WorkOwner.device();
        if (device != null) {
            return byDevice.getOrDefault(device, shared);
        }
        ScheduleScope lane = byThread.get(thread);
        return lane != null ? lane : laneScope(thread.getName());
    }
}
