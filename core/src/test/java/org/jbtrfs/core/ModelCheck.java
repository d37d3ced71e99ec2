package org.jbtrfs.core;

import org.jbtrfs.core.kernel.Kernel;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import org.jetbrains.kotlinx.lincheck.Actor;
import org.jetbrains.kotlinx.lincheck.LinChecker;
import org.jetbrains.kotlinx.lincheck.annotations.Validate;
import org.jetbrains.kotlinx.lincheck.execution.ExecutionScenario;
import org.jetbrains.kotlinx.lincheck.strategy.managed.ManagedStrategyGuarantee;
import org.jetbrains.kotlinx.lincheck.strategy.managed.ManagedStrategyGuaranteeKt;
import org.jetbrains.kotlinx.lincheck.strategy.managed.modelchecking.ModelCheckingOptions;
import org.jetbrains.kotlinx.lincheck.verifier.EpsilonVerifier;

/**
 * Lincheck's model checker (lincheck-jvm 2.39) on one hand-written scenario: the {@code @Operation}
 * methods of a test class, named per thread, run under every interleaving the checker explores (it
 * places a context switch before each shared access — a volatile or atomic read or write, a monitor, a
 * wait — and explores schedules with few switches first). The run fails when an execution hangs (a
 * thread waits for ever: a lost wake-up), when an operation throws, or when the class's
 * {@code @Validate} method (run after every execution) throws. Results are not compared with a
 * sequential specification ({@link EpsilonVerifier}): the properties are the operations' own assertions
 * and the validation. The scenario is fixed rather than generated, so every execution terminates when
 * the code is right.
 *
 * <p>What the model checker sees: plain and volatile fields, arrays, monitors (synchronized, wait,
 * notify), LockSupport.park/unpark (with spurious wake-ups) and the java.util.concurrent.atomic methods
 * get/set/compareAndSet/getAndAdd/incrementAndGet/...; it does <em>not</em> see inside
 * {@code getAndUpdate}/{@code getAndAccumulate} with a lambda (no switch point there: an ordering bug
 * around such a call goes unnoticed), which is why the flag word's read-modify-writes are CAS loops.
 *
 * <p>Public in the jbtrfs-core test-jar, for every module's tests.
 */
public final class ModelCheck {
    /** Enough for these scenarios (the checker tries schedules with few switches first); seconds per test. */
    public static final int INVOCATIONS = 100;

    private ModelCheck() { }

    static {
        seedRecordStatics(LatencyModel.class);
    }

    /**
     * Works around a Lincheck 2.39 limitation on records. Its lazy class transformer walks every object an
     * execution reaches and reads the static fields of each class it meets through
     * {@code sun.misc.Unsafe.staticFieldBase}, which the JDK refuses for a record class ("can't get base
     * address on a record class"): any scenario whose objects reach a {@link Kernel} (its config holds a
     * {@link LatencyModel}, a record with static constants) failed before its first execution. Lincheck
     * caches each field's base object and offset ({@code UnsafeHolderKt.fieldBaseObjectCache} /
     * {@code fieldOffsetCache}); seeding them for the record's static reference fields with a one-element
     * array that holds the same (final, never written) value lets the walk go on. Test code only; the
     * alternative, {@code -Dlincheck.instrumentAllClasses=true}, made one scenario take 40 s.
     */
    @SuppressWarnings("unchecked")
    private static void seedRecordStatics(Class<?>... records) {
        try {
            Class<?> holder = Class.forName("org.jetbrains.kotlinx.lincheck.util.UnsafeHolderKt");
            java.lang.reflect.Field baseCache = holder.getDeclaredField("fieldBaseObjectCache");
            java.lang.reflect.Field offsetCache = holder.getDeclaredField("fieldOffsetCache");
            baseCache.setAccessible(true);
            offsetCache.setAccessible(true);
            java.util.Map<java.lang.reflect.Field, Object> bases = (java.util.Map<java.lang.reflect.Field, Object>) baseCache.get(null);
            java.util.Map<java.lang.reflect.Field, Long> offsets = (java.util.Map<java.lang.reflect.Field, Long>) offsetCache.get(null);
            java.lang.reflect.Field theUnsafe = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            theUnsafe.setAccessible(true);
            long cellOffset = ((sun.misc.Unsafe) theUnsafe.get(null)).arrayBaseOffset(Object[].class);
            for (Class<?> r : records) {
                for (java.lang.reflect.Field f : r.getDeclaredFields()) {
                    if (java.lang.reflect.Modifier.isStatic(f.getModifiers()) && !f.getType().isPrimitive()) {
                        f.setAccessible(true);
                        bases.put(f, new Object[] {f.get(null)});
                        offsets.put(f, cellOffset);
                    }
                }
            }
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("Lincheck internals changed (this works around 2.39): " + e, e);
        }
    }


    /** Model-checks {@code threads} (operation names of {@code testClass}, one list per thread) after {@code init}. */
    public static void check(Class<?> testClass, List<String> init, List<List<String>> threads) {
        check(testClass, init, threads, INVOCATIONS);
    }

    /** As {@link #check(Class, List, List)} with at most {@code invocations} explored interleavings. */
    public static void check(Class<?> testClass, List<String> init, List<List<String>> threads, int invocations) {
        Scenario s = of(testClass).init(init.toArray(String[]::new)).invocations(invocations);
        threads.forEach(t -> s.thread(t.toArray(String[]::new)));
        s.check();
    }

    /** A scenario of {@code testClass}'s operations, built step by step. */
    public static Scenario of(Class<?> testClass) { return new Scenario(testClass); }

    /** One hand-written scenario and what the checker may treat as one step. */
    public static final class Scenario {
        private final Class<?> testClass;
        private final List<String> init = new ArrayList<>();
        private final List<List<String>> threads = new ArrayList<>();
        private final List<ManagedStrategyGuarantee> guarantees = new ArrayList<>();
        private int invocations = INVOCATIONS;
        private boolean obstructionFree;

        private Scenario(Class<?> testClass) { this.testClass = testClass; }

        /** Operations run first, on one thread, before the parallel part. */
        public Scenario init(String... ops) {
            init.addAll(List.of(ops));
            return this;
        }

        /** One thread of the parallel part, running {@code ops} in order. */
        public Scenario thread(String... ops) {
            threads.add(List.of(ops));
            return this;
        }

        /** At most this many explored interleavings. */
        public Scenario invocations(int n) {
            invocations = n;
            return this;
        }

        /**
         * Every method of these classes (fully qualified names) is one atomic step: a switch point before the
         * call, none inside. For linearizable building blocks that are not what is being checked (a JCTools
         * queue's offer/poll), so the checker spends its budget on the protocol around them.
         */
        public Scenario atomic(String... classNames) {
            guarantees.add(ManagedStrategyGuaranteeKt.forClasses(classNames).allMethods().treatAsAtomic());
            return this;
        }

        /** Code in these classes is not analysed at all (no switch points, not traced): reporting such as the kernel log. */
        public Scenario ignore(String... classNames) {
            guarantees.add(ManagedStrategyGuaranteeKt.forClasses(classNames).allMethods().ignore());
            return this;
        }

        /**
         * Also fail when a thread spins waiting for another one to make progress (Lincheck's obstruction-freedom
         * check): for a retry loop that the code claims never waits for anybody.
         */
        public Scenario obstructionFree() {
            obstructionFree = true;
            return this;
        }

        /** Runs the model checker; fails on a hang, an operation's exception or a failed validation. */
        public void check() {
            List<List<Actor>> parallel = new ArrayList<>();
            for (List<String> t : threads) {
                parallel.add(actors(testClass, t));
            }
            ExecutionScenario scenario = new ExecutionScenario(actors(testClass, init), parallel, List.of(), validation(testClass));
            ModelCheckingOptions options = new ModelCheckingOptions()
                .iterations(0) // only the scenario below, no generated ones
                .addCustomScenario(scenario)
                .verifier(EpsilonVerifier.class)
                .minimizeFailedScenario(false);
            options.invocationsPerIteration(invocations);
            // An execution that touches classes for the first time pays for their transformation (a whole
            // Kernel's worth on the first one): more than Lincheck's default bound on a loaded 2-core machine.
            options.invocationTimeout$lincheck(120_000);
            guarantees.forEach(options::addGuarantee);
            options.checkObstructionFreedom(obstructionFree);
            LinChecker.check(testClass, options);
        }
    }

    /** The class's {@code @Validate} method (at most one: a custom scenario carries one validation function), or null. */
    private static Actor validation(Class<?> testClass) {
        Actor found = null;
        for (Method m : testClass.getMethods()) {
            if (m.isAnnotationPresent(Validate.class)) {
                if (found != null) {
                    throw new IllegalArgumentException("more than one @Validate method in " + testClass.getName());
                }
                found = new Actor(m, List.of());
            }
        }
        return found;
    }

    private static List<Actor> actors(Class<?> testClass, List<String> names) {
        List<Actor> out = new ArrayList<>();
        for (String n : names) {
            try {
                out.add(new Actor(testClass.getMethod(n), List.of()));
            } catch (NoSuchMethodException e) {
                throw new IllegalArgumentException("no public no-argument operation " + n + " in " + testClass.getName(), e);
            }
        }
        return out;
    }
}
