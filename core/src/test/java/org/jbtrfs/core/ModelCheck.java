package org.jbtrfs.core;

import java.util.ArrayList;
import java.util.List;
import org.jetbrains.kotlinx.lincheck.Actor;
import org.jetbrains.kotlinx.lincheck.LinChecker;
import org.jetbrains.kotlinx.lincheck.execution.ExecutionScenario;
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

    /** Model-checks {@code threads} (operation names of {@code testClass}, one list per thread) after {@code init}. */
    public static void check(Class<?> testClass, List<String> init, List<List<String>> threads) {
        check(testClass, init, threads, INVOCATIONS);
    }

    /** As {@link #check(Class, List, List)} with at most {@code invocations} explored interleavings. */
    public static void check(Class<?> testClass, List<String> init, List<List<String>> threads, int invocations) {
        List<List<Actor>> parallel = new ArrayList<>();
        for (List<String> t : threads) {
            parallel.add(actors(testClass, t));
        }
        ExecutionScenario scenario = new ExecutionScenario(actors(testClass, init), parallel, List.of(), null);
        ModelCheckingOptions options = new ModelCheckingOptions()
            .iterations(0) // only the scenario below, no generated ones
            .addCustomScenario(scenario)
            .verifier(EpsilonVerifier.class)
            .minimizeFailedScenario(false);
        options.invocationsPerIteration(invocations);
        LinChecker.check(testClass, options);
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
