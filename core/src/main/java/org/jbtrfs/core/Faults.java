package org.jbtrfs.core;

import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The fault-injection sites of one loaded module: armed once, n times, or with a seeded probability —
 * module-wide, or for one device's filesystem only (as a dm-flakey or fail_make_request target sits under one
 * device): a call site that names its device meets that device's arm first, then the module-wide one.
 */
public final class Faults {
    private final AtomicReferenceArray<Arm> arms = new AtomicReferenceArray<>(Fault.values().length);
    /** Per-device arms: device name → one slot per fault. */
    private final java.util.Map<String, AtomicReferenceArray<Arm>> byDevice = new java.util.concurrent.ConcurrentHashMap<>();
    private final AtomicLong[] fired = new AtomicLong[Fault.values().length];
    private volatile int active;

    public Faults() {
        for (int i = 0; i < fired.length; i++) {
            fired[i] = new AtomicLong();
        }
    }

    private static final class Arm {
        int remaining; // -1 = unlimited, guarded by this
        final double probability;
        final SplittableRandom random;

        Arm(int remaining, double probability, long seed) {
            this.remaining = remaining;
            this.probability = probability;
            this.random = new SplittableRandom(seed);
        }
    }

    /** Fail the next {@code times} calls at {@code fault}. */
    public synchronized void arm(Fault fault, int times) {
        requireFault(fault);
        if (times <= 0) {
            throw new IllegalArgumentException("times must be positive: " + times);
        }
        set(fault, new Arm(times, 1.0, 0));
    }

    public void armOnce(Fault fault) { arm(fault, 1); }

    /** Fail each call at {@code fault} with {@code probability}, from a generator seeded with {@code seed}. */
    public synchronized void armProbability(Fault fault, double probability, long seed) {
        requireFault(fault);
        requireProbability(probability);
        set(fault, new Arm(-1, probability, seed));
    }

    public synchronized void disarm(Fault fault) {
        requireFault(fault);
        set(fault, null);
    }

    /**
     * Fail each call at {@code fault} made for {@code device}'s filesystem with {@code probability}, from a generator
     * seeded with {@code seed}; calls for other devices are not affected. A null device: module-wide, as
     * {@link #armProbability(Fault, double, long)}.
     */
    public synchronized void armProbability(Fault fault, double probability, long seed, String device) {
        if (device == null) {
            armProbability(fault, probability, seed);
            return;
        }
        requireFault(fault);
        requireProbability(probability);
        if (device.isEmpty()) {
            throw new IllegalArgumentException("device must name a device");
        }
        setFor(device, fault, new Arm(-1, probability, seed));
    }

    /** Disarm {@code fault} for {@code device} (its module-wide arm, if any, stays); a null device: module-wide. */
    public synchronized void disarm(Fault fault, String device) {
        if (device == null) {
            disarm(fault);
            return;
        }
        requireFault(fault);
        if (byDevice.containsKey(device)) {
            setFor(device, fault, null);
        }
    }

    private void setFor(String device, Fault f, Arm a) {
        Arm old = byDevice.computeIfAbsent(device, d -> new AtomicReferenceArray<>(Fault.values().length)).getAndSet(f.ordinal(), a);
        active += (a != null ? 1 : 0) - (old != null ? 1 : 0);
    }

    private static void requireProbability(double probability) {
        if (!(probability >= 0 && probability <= 1)) {
            throw new IllegalArgumentException("probability must be in [0,1]: " + probability);
        }
    }

    private static void requireFault(Fault fault) {
        if (fault == null) {
            throw new IllegalArgumentException("fault must not be null");
        }
    }

    public synchronized void reset() {
        for (Fault f : Fault.values()) {
            set(f, null);
            for (String d : byDevice.keySet()) {
                setFor(d, f, null);
            }
        }
    }

    private void set(Fault f, Arm a) {
        Arm old = arms.getAndSet(f.ordinal(), a);
        active += (a != null ? 1 : 0) - (old != null ? 1 : 0);
    }

    /** The injection point: true if this call must fail with {@link Fault#errno()}. */
    public boolean shouldFail(Fault fault) { return shouldFail(fault, null); }

    /**
     * The injection point of a call made for {@code device}'s filesystem (null: none named): its device's arm
     * if there is one, else the module-wide arm.
     */
    public boolean shouldFail(Fault fault, String device) {
        if (active == 0) {
            return false;
        }
        Arm a = null;
        if (device != null) {
            AtomicReferenceArray<Arm> mine = byDevice.get(device);
            a = mine == null ? null : mine.get(fault.ordinal());
        }
        if (a == null) {
            a = arms.get(fault.ordinal());
        }
        if (a == null) {
            return false;
        }
        boolean fail;
        synchronized (a) {
            if (a.remaining == 0) {
                return false;
            }
            fail = a.probability >= 1.0 || a.random.nextDouble() < a.probability;
            if (fail && a.remaining > 0) {
                a.remaining--;
            }
        }
        if (fail) {
            fired[fault.ordinal()].incrementAndGet();
        }
        return fail;
    }

    /** How many times {@code fault} fired. */
    public long fired(Fault fault) {
        requireFault(fault);
        return fired[fault.ordinal()].get();
    }
}
