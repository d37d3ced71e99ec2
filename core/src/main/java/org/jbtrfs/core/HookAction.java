package org.jbtrfs.core;

import java.util.EnumSet;
import java.util.Set;
import java.util.function.Consumer;

/**
 * What an armed hook does to the thread that arrives at it; immutable. By default every arrival is acted
 * on; {@link #onlyFor} restricts the action to threads of some {@link Role}s — an arrival of another role
 * passes through untouched and does not count against the arm.
 */
public final class HookAction {
    enum Type { PARK, DELAY, CALLBACK, COUNT }

    final Type type;
    final long delayNanos;
    final Consumer<Hook> callback;
    /** The roles acted on; null = every role. */
    final Set<Role> roles;

    private HookAction(Type type, long delayNanos, Consumer<Hook> callback, Set<Role> roles) {
        this.type = type;
        this.delayNanos = delayNanos;
        this.callback = callback;
        this.roles = roles;
    }

    /** Park the arriving thread until {@link Hooks#release}. */
    public static HookAction park() { return new HookAction(Type.PARK, 0, null, null); }

    /** Busy-free delay of the arriving thread (real time, not the module clock). */
    public static HookAction delay(long nanos) {
        if (nanos < 0) {
            throw new IllegalArgumentException("negative delay: " + nanos);
        }
        return new HookAction(Type.DELAY, nanos, null, null);
    }

    /** Run {@code cb} in the arriving thread. */
    public static HookAction callback(Consumer<Hook> cb) {
        if (cb == null) {
            throw new IllegalArgumentException("callback must not be null");
        }
        return new HookAction(Type.CALLBACK, 0, cb, null);
    }

    /** Run {@code cb} in the arriving thread. */
    public static HookAction run(Runnable cb) {
        if (cb == null) {
            throw new IllegalArgumentException("callback must not be null");
        }
        return new HookAction(Type.CALLBACK, 0, h -> cb.run(), null);
    }

    /** Only count arrivals (see {@link Hooks#hits}). */
    public static HookAction count() { return new HookAction(Type.COUNT, 0, null, null); }

    /**
     * This action, for arrivals of threads in {@code role} (or the {@code more} roles) only:
     * {@code HookAction.park().onlyFor(Role.CLEANER)} parks the cleaner and lets a remount that runs the
     * same function pass. An arrival of another role is not parked, delayed, run or counted as a hit, and
     * does not use up the arm's {@code times}.
     */
    public HookAction onlyFor(Role role, Role... more) {
        if (role == null || more == null || java.util.Arrays.asList(more).contains(null)) {
            throw new IllegalArgumentException("roles must not be null");
        }
        return new HookAction(type, delayNanos, callback, EnumSet.of(role, more));
    }

    /** True if this action applies to an arrival of a thread in {@code role}. */
    public boolean appliesTo(Role role) { return roles == null || roles.contains(role); }

    /** The roles this action is restricted to, or empty if it applies to every arrival. */
    public Set<Role> roles() { return roles == null ? Set.of() : EnumSet.copyOf(roles); }

    @Override
    public String toString() {
        String what = switch (type) {
            case PARK -> "park";
            case DELAY -> "delay " + delayNanos + " ns";
            case CALLBACK -> "callback";
            case COUNT -> "count";
        };
        return roles == null ? what : what + " only for " + roles;
    }
}
