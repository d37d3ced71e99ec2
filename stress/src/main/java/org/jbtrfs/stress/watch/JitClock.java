package org.jbtrfs.stress.watch;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;

/**
 * The time the JVM's JIT compilers have spent compiling so far, for telling a stall from the JVM's warm-up: the
 * kernel has no JIT, so an operation that sat past the stall threshold while the compilers took the CPUs it needed
 * shows the port's extra cost, not a kernel wait.
 */
final class JitClock {
    private static final CompilationMXBean JIT = ManagementFactory.getCompilationMXBean();
    private static final boolean SUPPORTED = JIT != null && JIT.isCompilationTimeMonitoringSupported();

    private JitClock() { }

    /** Milliseconds of compilation so far (summed over the compiler threads); 0 when the JVM does not say. */
    static long millis() { return SUPPORTED ? JIT.getTotalCompilationTime() : 0; }
}
