package org.jbtrfs.architecture;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.lang.ArchRule;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Each rule fails on a planted violation (classes under this module's src/test/java, in the package they violate), so
 * no rule can pass vacuously: the planted class joins the production classes and the rule must name it.
 */
class PlantedViolationsTest {

    private static void failsNaming(ArchRule rule, String planted, String... expected) {
        AssertionError e = assertThrows(AssertionError.class, () -> rule.check(Code.productionWithPlanted()),
            "rule passed despite the planted " + planted + ": " + rule.getDescription());
        String msg = e.getMessage();
        assertTrue(msg.contains(planted), "the failure names " + planted + ":\n" + msg);
        for (String s : expected) {
            assertTrue(msg.contains(s), "the failure says \"" + s + "\":\n" + msg);
        }
    }

    @Test
    void anUnclassifiedPackageFailsRuleA() {
        failsNaming(Rules.everyPackageIsClassified(), "org.jbtrfs.planted.Unclassified", "org.jbtrfs.planted");
    }

    @Test
    void anApiMemberExposingAnInternalTypeFailsRuleB() {
        failsNaming(Rules.apiMentionsOnlyApiTypes(), "org.jbtrfs.fs.PlantedApiLeak",
            "PlantedApiLeak.kernel() -> org.jbtrfs.core.kernel.Kernel",
            "PlantedApiLeak.infos() -> org.jbtrfs.transaction.FsInfo");
    }

    @Test
    void theJunitModuleNamingAnInternalTypeFailsRuleC() {
        failsNaming(Rules.consumersUseOnlyTheApi(), "org.jbtrfs.junit.PlantedInternalUse", "org.jbtrfs.transaction.FsInfo");
    }

    @Test
    void aConsumerNamingTheKernelFailsRuleC() {
        failsNaming(Rules.consumersUseOnlyTheApi(), "com.example.planted.PlantedConsumer", "org.jbtrfs.core.kernel.Kernel");
    }

    @Test
    void coreReachingUpIntoFsFailsRuleD() {
        failsNaming(Rules.layering(), "org.jbtrfs.core.kernel.PlantedUpcall", "org.jbtrfs.fs.BtrfsModule");
    }

    @Test
    void theJunitModuleUsingTheInternalAccessorFailsRuleD() {
        failsNaming(Rules.internalAccessorOnlyForTools(), "org.jbtrfs.junit.PlantedAccessorUse", "org.jbtrfs.fs.internal.Internals");
    }

    @Test
    void aGlobalAwaitilityDefaultFailsTheTestsRule() {
        failsNaming(Rules.noGlobalAwaitilityDefaults(), "org.jbtrfs.planted.PlantedGlobalAwaitility", "setDefault");
    }

    @Test
    void aRawThreadInATestFailsTheTestsThreadRule() {
        failsNaming(Rules.testThreadsOnlyThroughTestThread(), "org.jbtrfs.planted.PlantedRawThread", "new Thread", "runAsync");
    }

    /** The planted classes are seen only here: the production import never includes this module's test classes. */
    @Test
    void productionImportHoldsNoPlantedClass() {
        for (String p : Code.PLANTED) {
            assertTrue(Code.productionWithPlanted().contain(p), "planted and imported: " + p);
        }
        List<String> planted = Code.production().stream().map(c -> c.getName())
            .filter(n -> n.contains("Planted") || n.startsWith("org.jbtrfs.planted")).toList();
        assertTrue(planted.isEmpty(), planted.toString());
    }
}
