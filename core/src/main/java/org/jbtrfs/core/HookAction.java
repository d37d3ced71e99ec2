package org.jbtrfs.core;

import java.util.function.Consumer;

/** What an armed hook does to the thread that arrives at it. */
public final class HookAction {
    enum Type { PARK, DELAY, CALLBACK, COUNT }

    final Type type;
    final long delayNanos;
    final Consumer<Hook> callback;

    private HookAction(Type type, long delayNanos, Consumer<Hook> callback) {
        this.type = type;
        this.delayNanos = delayNanos;
        this.callback = callback;
    }

    /** Park the arriving thread until {@link Hooks#release}. */
    public static HookAction park() { return new HookAction(Type.PARK, 0, null); }

    /** Busy-free delay of the arriving thread (real time, not the module clock). */
    public static HookAction delay(long nanos) {
        if (nanos < 0) {
            throw new IllegalArgumentException("negative delay: " + nanos);
        }
        return new HookAction(Type.DELAY, nanos, null);
    }

    /** Run {@code cb} in the arriving thread. */
    public static HookAction callback(Consumer<Hook> cb) { return new HookAction(Type.CALLBACK, 0, cb); }

    /** Run {@code cb} in the arriving thread. */
    public static HookAction run(Runnable cb) { return new HookAction(Type.CALLBACK, 0, h -> cb.run()); }

    /** Only count arrivals. */
    public static HookAction count() { return new HookAction(Type.COUNT, 0, null); }
}
