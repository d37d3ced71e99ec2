package org.jbtrfs.core;

/**
 * Sees every arrival at every hook of a module (the stress runner's schedule perturbation and
 * timeline). Runs in the arriving thread; may delay it.
 *
 * <p>{@link Hooks} calls {@link #arrived(Hook, Thread, Role)}, which by default forwards to the
 * two-argument method: a listener that wants the arriving thread's {@link Role} overrides the
 * three-argument one (and may leave the other empty); a lambda gets {@link Role#current()} the same way,
 * since it runs in the arriving thread.
 */
@FunctionalInterface
public interface HookListener {
    void arrived(Hook hook, Thread thread);

    /** An arrival at {@code hook} by {@code thread}, which serves {@code role}. */
    default void arrived(Hook hook, Thread thread, Role role) { arrived(hook, thread); }
}
