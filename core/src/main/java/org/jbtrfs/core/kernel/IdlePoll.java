package org.jbtrfs.core.kernel;

import java.util.function.BooleanSupplier;

/**
 * kernel: poll_idle() (drivers/cpuidle/poll_state.c) — the idle CPU of a sleeping task polls for its
 * wake-up a short while before it halts.
 *
 * <h2>Why the port polls</h2>
 * In the kernel a task that sleeps gives its CPU to the idle loop, and an idle CPU first polls
 * (cpuidle's poll state; in a KVM guest the haltpoll governor, {@code guest_halt_poll_ns}, 200 µs by
 * default) before it halts: a wake-up that comes soon costs a few µs, not an inter-processor interrupt
 * and a halt exit. The port's task is a Java thread; blocking it in {@code LockSupport.park} or
 * {@code Object.wait} halts its CPU at once, and the wake-up then costs a futex wake and the thread's
 * scheduling — ~17 µs each way on a 2-vCPU virtual machine (a blocked ping-pong round trip is ~35 µs). A
 * lifecycle cycle has several such hand-offs on its critical path (kthread_park, two kthread_stops, the
 * kthreadd hand-off of each kthread_run), so without the poll the JVM's wake-up cost, not the kernel's,
 * bounded the lifecycle rate.
 *
 * <p>So a thread about to block first polls its wake condition for up to {@link #NANOS}, giving its CPU
 * to any runnable thread of this JVM each round ({@code Thread.yield()}). While other processes keep the
 * CPUs busy ({@link ForeignLoad}) there is no idle CPU to poll on and the thread blocks at once, as the
 * kernel's poll loop leaves on {@code need_resched()}. Ordering is unchanged —
 * the thread still sleeps until the same condition holds; only the cost of noticing it changes. The poll
 * applies only where the module models no wake-up cost ({@code LatencyModel.wakeupNanos() == 0}): a
 * model with a wake-up latency (virtio's 200 µs) makes every wake-up slow on purpose, and its threads
 * block at once as before.
 *
 * <p>{@code -Djbtrfs.idlePollMicros=N} sets the poll (default 50 µs; 0 turns it off).
 */
public final class IdlePoll {
    /** How long a thread polls its wake-up before it blocks, when no wake-up cost is modelled. */
    public static final long NANOS = Math.max(0, Long.getLong("jbtrfs.idlePollMicros", 50)) * 1_000L;

    private IdlePoll() { }

    /** The poll of a thread whose module models a wake-up of {@code wakeupNanos}: {@link #NANOS} for 0, else none. */
    public static long forWakeup(long wakeupNanos) { return wakeupNanos == 0 ? NANOS : 0; }

    /**
     * Polls {@code woken} until it holds, {@code nanos} passed or the thread is interrupted (a panic ends
     * sleeps by interrupting them), yielding the CPU each round; returns whether it holds. The caller then
     * blocks as before if it does not, and applies its own interrupt policy (the interrupt is left set).
     */
    public static boolean poll(BooleanSupplier woken, long nanos) {
        if (woken.getAsBoolean()) {
            return true;
        }
        if (nanos <= 0) {
            return false;
        }
        if (ForeignLoad.busy()) {
            return false; // no idle CPU to poll on: block at once, the wake-up then preempts
        }
        long deadline = System.nanoTime() + nanos;
        do {
            Thread.yield();
            if (woken.getAsBoolean()) {
                return true;
            }
        } while (System.nanoTime() - deadline < 0 && !Thread.currentThread().isInterrupted());
        return false;
    }
}
