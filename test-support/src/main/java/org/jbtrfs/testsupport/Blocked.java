package org.jbtrfs.testsupport;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * "Blocked in f", read from the thread itself: it is WAITING (or TIMED_WAITING) and a frame of {@code f} is on its
 * stack, for waits that no kernel bookkeeping names (workqueue flush/drain, a ReentrantLock, a CompletableFuture).
 * Thread state and stack are two reads, so the state is read on both sides of the stack: a thread that passes
 * through {@code f} without sleeping there does not count. For a wait of the kernel's own ({@code wait_on_bit},
 * {@code kthread_park}, {@code wait_for_completion}...) prefer what the module's {@code Sched.blocked()} (or
 * {@code Btrfs.inspect().blockedOn()}) names, through {@link TestThread#describedBy}.
 */
public final class Blocked {
    private Blocked() { }

    /** True when {@code t} sleeps with a frame of {@code simpleClassName.method} on its stack. */
    public static boolean in(Thread t, String simpleClassName, String method) {
        if (!sleeping(t)) {
            return false;
        }
        return onStack(t, simpleClassName, method) && sleeping(t);
    }

    /** True when a frame of {@code t}'s stack is {@code simpleClassName.method}, sleeping or not. */
    public static boolean onStack(Thread t, String simpleClassName, String method) {
        return Arrays.stream(t.getStackTrace()).anyMatch(f -> f.getMethodName().equals(method)
            && (f.getClassName().endsWith("." + simpleClassName) || f.getClassName().endsWith("$" + simpleClassName)));
    }

    private static boolean sleeping(Thread t) {
        Thread.State s = t.getState();
        return s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING;
    }

    /** The thread's name, state and (top 25 frames of its) stack, for an assertion message. */
    public static String describe(Thread t) {
        return t.getName() + " " + t.getState() + Arrays.stream(t.getStackTrace()).limit(25)
            .map(f -> "\n\tat " + f).collect(Collectors.joining());
    }
}
