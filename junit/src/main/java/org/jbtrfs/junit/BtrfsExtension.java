package org.jbtrfs.junit;

import java.io.UncheckedIOException;
import java.lang.reflect.AnnotatedElement;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.BtrfsModule;
import org.jbtrfs.fs.UnloadReport;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * JUnit 5 extension for tests that embed jbtrfs: a fresh module per test (and by default a formatted,
 * mounted filesystem), torn down inside the test's own lifecycle (afterEach) with the check fstests
 * does on dmesg: the test fails if anything was reported that it did not declare (WARNING, assertion,
 * BUG, oops, use-after-free, slab or state leak, hung task, a thread of the module alive after rmmod), or
 * if something it declared never showed. The message is short — the problems and the reporting log
 * entries, each call trace cut to its first jbtrfs frames — and names the file under
 * {@code target/jbtrfs/<test class>/<test method>.dmesg} that holds the whole log (written for every
 * failing test, see {@link DmesgFile}).
 *
 * <p>Each test has its own module, devices and hooks, so tests may run in parallel
 * ({@code junit.jupiter.execution.parallel.enabled}).
 *
 * <p>Use {@link BtrfsTest} on a class or method, or register a configured instance:
 * <pre>{@code
 * @RegisterExtension
 * BtrfsExtension btrfs = BtrfsExtension.builder().revert(FixSwitch.ORPHAN_ROOTS_RO_MOUNT).mount("ro").build();
 * }</pre>
 * (not both: the second registration is refused).
 */
public final class BtrfsExtension implements BeforeEachCallback, AfterEachCallback, ParameterResolver {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(BtrfsExtension.class);
    private static final String KEY = "fixture";

    /** What to load and mount. */
    record Settings(Set<FixSwitch> revert, Crc32cImpl crc32c, boolean assertions, boolean mkfs, String mount,
                    long deviceSize, String device, Set<KernelSymptom> expect) {
        static Settings of(BtrfsTest a) {
            Set<FixSwitch> r = EnumSet.noneOf(FixSwitch.class);
            r.addAll(List.of(a.revert()));
            return new Settings(r, a.crc32c(), a.assertions(), a.mkfs(), a.mount(), a.deviceSize(), a.device(),
                EnumSet.noneOf(KernelSymptom.class));
        }
    }

    /** One test's module and filesystem. */
    private record Fixture(BtrfsModule module, BlockDevice device, Btrfs fs, KernelSymptoms symptoms) { }

    private final Settings configured;

    /** The instance {@code @BtrfsTest} / {@code @ExtendWith} creates: settings come from the annotation. */
    public BtrfsExtension() { this(null); }

    private BtrfsExtension(Settings s) { this.configured = s; }

    public static Builder builder() { return new Builder(); }

    @Override
    public void beforeEach(ExtensionContext ctx) {
        ExtensionContext.Store store = ctx.getStore(NS);
        if (store.get(KEY) != null) {
            throw new ExtensionConfigurationException("BtrfsExtension registered twice for " + ctx.getDisplayName()
                + ": use either @BtrfsTest or @RegisterExtension BtrfsExtension, not both");
        }
        Settings s = configured != null ? configured : settingsFor(ctx);
        KernelConfig config = KernelConfig.defaults().revert(s.revert()).crc32c(s.crc32c()).assertions(s.assertions());
        BtrfsModule module = BtrfsModule.load(config);
        Set<KernelSymptom> expected = EnumSet.noneOf(KernelSymptom.class);
        expected.addAll(s.expect());
        declared(ctx.getRequiredTestClass()).ifPresent(a -> expected.addAll(List.of(a.value())));
        declared(ctx.getRequiredTestMethod()).ifPresent(a -> expected.addAll(List.of(a.value())));
        KernelSymptoms symptoms = new KernelSymptoms(module.log(), expected);
        // stored first, so afterEach unloads the module even if mkfs or mount fails
        Fixture partial = new Fixture(module, null, null, symptoms);
        store.put(KEY, partial);
        BlockDevice dev = module.createDevice(s.device(), s.deviceSize());
        store.put(KEY, new Fixture(module, dev, null, symptoms));
        if (s.mkfs()) {
            module.mkfs(dev);
            if (!BtrfsTest.UNMOUNTED.equals(s.mount())) {
                store.put(KEY, new Fixture(module, dev, module.mount(dev, s.mount()), symptoms));
            }
        }
    }

    private static Settings settingsFor(ExtensionContext ctx) {
        Optional<BtrfsTest> a = AnnotationSupport.findAnnotation(ctx.getRequiredTestMethod(), BtrfsTest.class)
            .or(() -> AnnotationSupport.findAnnotation(ctx.getRequiredTestClass(), BtrfsTest.class));
        return a.map(Settings::of).orElseGet(() -> new Builder().settings());
    }

    private static Optional<ExpectKernelSymptoms> declared(AnnotatedElement e) {
        return AnnotationSupport.findAnnotation(e, ExpectKernelSymptoms.class);
    }

    /**
     * Unmounts what the test left mounted (a KernelBug or oops out of close_ctree is a symptom, not an
     * error here), unloads, and compares what the kernel reported with what the test declared.
     */
    @Override
    public void afterEach(ExtensionContext ctx) {
        Fixture f = ctx.getStore(NS).remove(KEY, Fixture.class);
        if (f == null) {
            return;
        }
        BtrfsModule module = f.module();
        List<String> problems = new ArrayList<>();
        // a test that failed with a thread parked at a hook (or left one armed) must not hang close_ctree's
        // kthread_park on it: the test is over, its hooks go
        module.hooks().reset();
        for (Btrfs fs : module.mounts()) {
            try {
                fs.umount();
            } catch (BtrfsException e) {
                problems.add("umount " + fs.device().name() + " at the end of the test failed: " + e.getMessage()
                    + (e.errno() == Errno.EBUSY ? " (the test left files open)" : ""));
            } catch (RuntimeException e) {
                // a kernel BUG or oops out of close_ctree: already in the log, judged below
            }
        }
        Set<KernelSymptom> observed;
        if (problems.isEmpty()) {
            UnloadReport r = module.unload();
            observed = KernelSymptoms.classify(module.log().entries());
            if (!r.slabLeaks().isEmpty()) {
                observed.add(KernelSymptom.SLAB_LEAK);
            }
            if (!r.stateLeaks().isEmpty()) {
                observed.add(KernelSymptom.STATE_LEAK);
            }
            if (!r.threadsAlive().isEmpty() || !module.liveThreads().isEmpty()) {
                observed.add(KernelSymptom.THREADS_ALIVE);
                problems.add("threads of the module alive after rmmod: " + r.threadsAlive());
            }
        } else {
            module.close(); // best effort: forget what could not be unmounted, unload
            observed = KernelSymptoms.classify(module.log().entries());
        }
        Set<KernelSymptom> expected = f.symptoms().expected();
        Set<KernelSymptom> unexpected = EnumSet.copyOf(observed.isEmpty() ? EnumSet.noneOf(KernelSymptom.class) : observed);
        unexpected.removeAll(expected);
        Set<KernelSymptom> missing = EnumSet.copyOf(expected.isEmpty() ? EnumSet.noneOf(KernelSymptom.class) : expected);
        missing.removeAll(observed);
        if (!unexpected.isEmpty()) {
            problems.add(0, "the kernel reported " + unexpected + " (not declared with @ExpectKernelSymptoms)");
        }
        if (!missing.isEmpty()) {
            problems.add("declared kernel symptoms did not show: " + missing + " (observed: " + observed + ")");
        }
        reportOrForget(ctx, module, problems);
    }

    /**
     * Fails the test if the kernel check found problems, with a short message: the problems, then the
     * reporting log entries with traces trimmed, and the file holding the whole log. The file is written
     * whenever the test failed (here, or in its own body); a passing test removes the one a failing run left.
     */
    private static void reportOrForget(ExtensionContext ctx, BtrfsModule module, List<String> problems) {
        Path file = DmesgFile.of(ctx);
        if (problems.isEmpty() && ctx.getExecutionException().isEmpty()) {
            DmesgFile.removeStale(file);
            return;
        }
        List<LogEntry> entries = module.log().entries();
        String where;
        try {
            DmesgFile.write(file, module.log().dmesg());
            ctx.publishReportEntry("jbtrfs.dmesg", file.toString());
            where = "the whole log: " + file;
        } catch (UncheckedIOException e) {
            where = "the whole log could not be written to " + file + ": " + e.getCause();
        }
        if (!problems.isEmpty()) {
            throw new AssertionError(String.join("\n", problems) + "\nkernel log of " + module.name() + ", "
                + entries.size() + " entries (" + where + "):\n" + KernelLogExcerpt.of(entries));
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext pc, ExtensionContext ec) {
        Class<?> t = pc.getParameter().getType();
        return t == BtrfsModule.class || t == Btrfs.class || t == BlockDevice.class || t == KernelSymptoms.class
            || t == KernelLog.class;
    }

    @Override
    public Object resolveParameter(ParameterContext pc, ExtensionContext ec) {
        Fixture f = ec.getStore(NS).get(KEY, Fixture.class);
        if (f == null) {
            throw new ParameterResolutionException("no btrfs fixture: parameters are resolved for test methods and @BeforeEach");
        }
        Class<?> t = pc.getParameter().getType();
        if (t == BtrfsModule.class) {
            return f.module();
        }
        if (t == KernelLog.class) {
            return f.module().log();
        }
        if (t == KernelSymptoms.class) {
            return f.symptoms();
        }
        if (t == BlockDevice.class) {
            return f.device();
        }
        if (f.fs() == null) {
            throw new ParameterResolutionException("no mounted filesystem to inject: the test asked for mkfs = false or mount = UNMOUNTED");
        }
        return f.fs();
    }

    /** Settings for {@code @RegisterExtension}; defaults as {@link BtrfsTest}'s. */
    public static final class Builder {
        private final Set<FixSwitch> revert = EnumSet.noneOf(FixSwitch.class);
        private Crc32cImpl crc32c = Crc32cImpl.ACCELERATED;
        private boolean assertions = true;
        private boolean mkfs = true;
        private String mount = "";
        private long deviceSize = 256L << 20;
        private String device = "sdc";
        private final Set<KernelSymptom> expect = EnumSet.noneOf(KernelSymptom.class);

        public Builder revert(FixSwitch... fixes) {
            revert.addAll(List.of(fixes));
            return this;
        }

        public Builder crc32c(Crc32cImpl impl) {
            crc32c = impl;
            return this;
        }

        public Builder assertions(boolean on) {
            assertions = on;
            return this;
        }

        public Builder mkfs(boolean on) {
            mkfs = on;
            return this;
        }

        /** Mount options, or {@link BtrfsTest#UNMOUNTED}. */
        public Builder mount(String options) {
            mount = options;
            return this;
        }

        public Builder unmounted() { return mount(BtrfsTest.UNMOUNTED); }

        public Builder deviceSize(long bytes) {
            deviceSize = bytes;
            return this;
        }

        public Builder device(String name) {
            device = name;
            return this;
        }

        /** Symptoms every test using this extension provokes. */
        public Builder expect(KernelSymptom... symptoms) {
            expect.addAll(List.of(symptoms));
            return this;
        }

        Settings settings() {
            return new Settings(EnumSet.copyOf(revert.isEmpty() ? EnumSet.noneOf(FixSwitch.class) : revert), crc32c, assertions,
                mkfs, mount, deviceSize, device, EnumSet.copyOf(expect.isEmpty() ? EnumSet.noneOf(KernelSymptom.class) : expect));
        }

        public BtrfsExtension build() { return new BtrfsExtension(settings()); }
    }
}
