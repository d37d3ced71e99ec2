package org.jbtrfs.architecture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The API boundary and the layering hold for the production code (docs/api.md). */
class BoundaryTest {

    @Test
    void everyPackageIsApiOrNamedInternal() {
        Rules.everyPackageIsClassified().check(Code.production());
    }

    @Test
    void everyApiPackageHoldsPublicClasses() {
        Set<String> present = new TreeSet<>();
        Code.production().stream().filter(Rules.API_CLASS).forEach(c -> present.add(c.getPackageName()));
        assertEquals(new TreeSet<>(Boundary.API_PACKAGES), present, "the API packages, exactly");
    }

    @Test
    void apiMembersMentionOnlyApiTypes() {
        Rules.apiMentionsOnlyApiTypes().check(Code.production());
    }

    /** The frozen list only shrinks: an entry that no longer occurs must be deleted from it. */
    @Test
    void frozenApiLeaksStillOccur() {
        Set<String> stale = new TreeSet<>(Boundary.FROZEN_API_LEAKS);
        stale.removeAll(Rules.apiLeaks(Code.production()));
        assertEquals(Set.of(), stale, "fixed leaks still listed in Boundary.FROZEN_API_LEAKS: delete them (and in docs/api.md)");
    }

    @Test
    void theJunitModuleUsesOnlyTheApi() {
        Rules.consumersUseOnlyTheApi().check(Code.production());
    }

    /** examples/junit-consumer, compiled by examples/ (maven-invoker-plugin) earlier in this build. */
    @Test
    void theExampleConsumerUsesOnlyTheApi() {
        Path dir = Code.consumerDir();
        assumeTrue(dir != null, "examples/ not built in this run: " + Boundary.CONSUMER_TEST_CLASSES);
        JavaClasses consumer = new ClassFileImporter().importPaths(List.of(dir));
        Rules.consumersUseOnlyTheApi().check(consumer);
    }

    @Test
    void layersReachOnlyDown() {
        Rules.layering().check(Code.production());
    }

    @Test
    void theInternalAccessorServesOnlyTools() {
        Rules.internalAccessorOnlyForTools().check(Code.production());
    }

    /** Every module's tests: Awaitility through the explicit preset, never a global default. */
    @Test
    void noTestChangesAwaitilityDefaults() {
        Rules.noGlobalAwaitilityDefaults().check(Code.tests());
    }

    /** Every module's tests: their threads are TestThreads (test-support), never a raw Thread or a pool's. */
    @Test
    void testsStartThreadsOnlyThroughTestThread() {
        Rules.testThreadsOnlyThroughTestThread().check(Code.tests());
    }
}
