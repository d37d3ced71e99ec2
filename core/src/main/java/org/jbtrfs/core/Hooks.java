package org.jbtrfs.core;

import org.jbtrfs.core.kernel.Sched;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;

/**
 * The hooks of one loaded module. An unarmed module pays one volatile read per {@link #arrive}
 * ({@code active}); parallel tests load their own modules and never share hooks. An arm may be
 * restricted to the {@link Role}s of the arriving threads ({@link HookAction#onlyFor}); the listener is told
 * every arrival's role.
 */
public final class Hooks {
    private final AtomicReferenceArray<Arm> arms = new AtomicReferenceArray<>(Hook.values().length);
    private final AtomicLong[] arrivals = new AtomicLong[Hook.values().length];
    /** Number of armed hooks plus one if a listener is installed; the fast-path gate. */
    private volatile int active;
    private volatile HookListener listener;

    private final Sched sched;

    /** Hooks with no module around them (a parked thread is released only by {@link #release}). */
    public Hooks() { this(null); }

    /** The hooks of a module: a thread parked at one is also released, with KernelPanic, by a panic. */
    public Hooks(Sched sched) {
        this.sched = sched;
        for (int i = 0; i < arrivals.length; i++) {
            arrivals[i] = new AtomicLong();
        }
    }

    private static final class Arm {
        final HookAction action;
        int remaining; // guarded by this; -1 = every arrival
        int parkedCount; // guarded by this
        int releases; // guarded by this: release generation
        long hits; // guarded by this

        Arm(HookAction action, int times) {
            this.action = action;
            this.remaining = times;
        }
    }

    /** A thread reached {@code hook}. */
    public void arrive(Hook hook) {
        if (active == 0) {
            return;
        }
        arriveSlow(hook);
    }

    private void arriveSlow(Hook hook) {
        Role role = null; // looked up once, and only if someone asks
        HookListener l = listener;
        if (l != null) {
            arrivals[hook.ordinal()].incrementAndGet();
            role = Role.current();
            l.arrived(hook, Thread.currentThread(), role);
        }
        Arm arm = arms.get(hook.ordinal());
        if (arm == null) {
            return;
        }
        if (l == null) {
            arrivals[hook.ordinal()].incrementAndGet();
        }
        if (arm.action.roles != null && !arm.action.appliesTo(role != null ? role : Role.current())) {
            return; // another caller of the same function: not this arm's business
        }
        int generation;
        synchronized (arm) {
            arm.hits++;
            if (arm.remaining == 0) {
                return;
            }
            if (arm.remaining > 0) {
                arm.remaining--;
            }
            generation = arm.releases;
            if (arm.action.type == HookAction.Type.PARK) {
                arm.parkedCount++;
                arm.notifyAll();
                try {
                    waitForRelease(arm, generation);
                } finally {
                    arm.parkedCount--;
                }
                return;
            }
        }
        switch (arm.action.type) {
            case DELAY -> delay(arm.action.delayNanos);
            case CALLBACK -> arm.action.callback.accept(hook);
            default -> { }
        }
    }

    /** Parked until released (uninterruptible; a panic of the module ends it). Caller holds {@code arm}. */
    private void waitForRelease(Arm arm, int generation) {
        if (sched != null) {
            sched.waitUntil(arm, "parked at a hook", () -> arm.releases != generation);
            return;
        }
        boolean interrupted = false;
        while (arm.releases == generation) {
            try {
                arm.wait();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Sleeps the full {@code nanos}. parkNanos alone may return at once: kthreads are woken with
     * LockSupport.unpark, so a pooled thread often carries a stale permit into the hook, and a
     * stress run's "delay here" would silently become "no delay".
     */
    private static void delay(long nanos) {
        long deadline = System.nanoTime() + nanos;
        for (long left = nanos; left > 0; left = deadline - System.nanoTime()) {
            LockSupport.parkNanos(left);
        }
    }

    /** Arms {@code hook} for its next arrival only. */
    public void arm(Hook hook, HookAction action) { arm(hook, action, 1); }

    /** Arms {@code hook} for {@code times} arrivals (-1: every arrival). Replaces an earlier arm. */
    public synchronized void arm(Hook hook, HookAction action, int times) {
        requireHook(hook);
        if (action == null) {
            throw new IllegalArgumentException("action must not be null");
        }
        if (times == 0 || times < -1) {
            throw new IllegalArgumentException("times must be positive or -1: " + times);
        }
        Arm old = arms.getAndSet(hook.ordinal(), new Arm(action, times));
        if (old == null) {
            active++;
        } else {
            releaseArm(old);
        }
    }

    /** Shorthand: park the next thread that arrives at {@code hook}. */
    public void parkAt(Hook hook) { arm(hook, HookAction.park()); }

    /**
     * Shorthand: park the next thread of {@code role} that arrives at {@code hook}; threads of other roles
     * pass ({@code parkAt(Hook.CLEANER_BEFORE_DELAYED_IPUT, Role.CLEANER)} lets a remount running the same
     * btrfs_run_delayed_iputs through).
     */
    public void parkAt(Hook hook, Role role) { arm(hook, HookAction.park().onlyFor(role)); }

    private static void requireHook(Hook hook) {
        if (hook == null) {
            throw new IllegalArgumentException("hook must not be null");
        }
    }

    /** Disarms {@code hook}, releasing any thread parked there. */
    public synchronized void disarm(Hook hook) {
        requireHook(hook);
        Arm old = arms.getAndSet(hook.ordinal(), null);
        if (old != null) {
            active--;
            releaseArm(old);
        }
    }

    /** Releases threads parked at {@code hook}; the arm stays (with its remaining count). */
    public void release(Hook hook) {
        requireHook(hook);
        Arm arm = arms.get(hook.ordinal());
        if (arm != null) {
            releaseArm(arm);
        }
    }

    private static void releaseArm(Arm arm) {
        synchronized (arm) {
            arm.releases++;
            arm.notifyAll();
        }
    }

    /** True while some thread is parked at {@code hook} (for Awaitility's {@code until}). */
    public boolean isParked(Hook hook) {
        requireHook(hook);
        Arm arm = arms.get(hook.ordinal());
        if (arm == null) {
            return false;
        }
        synchronized (arm) {
            return arm.parkedCount > 0;
        }
    }

    /** Blocks until a thread parks at {@code hook}; fails with a clear message on timeout. */
    public void awaitParked(Hook hook, Duration timeout) {
        requireHook(hook);
        if (timeout == null) {
            throw new IllegalArgumentException("timeout must not be null");
        }
        Arm arm = arms.get(hook.ordinal());
        if (arm == null || arm.action.type != HookAction.Type.PARK) {
            throw new IllegalStateException("hook " + hook + " is not armed to park");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (arm) {
            while (arm.parkedCount == 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("no thread parked at " + hook
                        + (arm.action.roles == null ? "" : " (only " + arm.action.roles + " park there)") + " within " + timeout);
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(arm, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError("interrupted waiting for " + hook, e);
                }
            }
        }
    }

    /**
     * Arrivals at {@code hook} seen while it was armed or a listener was installed, of every role (an arm
     * restricted to a role counts the arrivals it let pass here too; see {@link #hits}).
     */
    public long arrivals(Hook hook) {
        requireHook(hook);
        return arrivals[hook.ordinal()].get();
    }

    /**
     * Arrivals the current arm of {@code hook} matched — of its roles, if {@link HookAction#onlyFor
     * restricted} — including those after its {@code times} ran out; 0 if the hook is not armed.
     */
    public long hits(Hook hook) {
        requireHook(hook);
        Arm arm = arms.get(hook.ordinal());
        if (arm == null) {
            return 0;
        }
        synchronized (arm) {
            return arm.hits;
        }
    }

    /** Arrival counts of every hook. */
    public Map<Hook, Long> arrivalCounts() {
        Map<Hook, Long> m = new EnumMap<>(Hook.class);
        for (Hook h : Hook.values()) {
            m.put(h, arrivals[h.ordinal()].get());
        }
        return m;
    }

    /** Installs (or with null removes) the listener that sees every arrival. */
    public synchronized void setListener(HookListener l) {
        if (listener == null && l != null) {
            active++;
        } else if (listener != null && l == null) {
            active--;
        }
        listener = l;
    }

    /** Disarms every hook and removes the listener, releasing every parked thread. */
    public synchronized void reset() {
        for (Hook h : Hook.values()) {
            disarm(h);
        }
        setListener(null);
    }
}
