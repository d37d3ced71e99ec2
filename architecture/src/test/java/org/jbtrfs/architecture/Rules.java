package org.jbtrfs.architecture;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaMember;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.domain.JavaType;
import com.tngtech.archunit.core.domain.PackageMatcher;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/** The boundary rules, (a) to (d) of issue 11 item 7; each is checked against production code and a planted violation. */
final class Rules {
    private Rules() { }

    static String[] api() { return Boundary.API_PACKAGES.toArray(String[]::new); }

    private static String[] apiAndForeign() {
        return Stream.concat(Boundary.API_PACKAGES.stream(), Boundary.FOREIGN_ALLOWED.stream()).toArray(String[]::new);
    }

    /** A class a consumer can name: public, in an API package, and every class enclosing it public too. */
    static final DescribedPredicate<JavaClass> API_CLASS = DescribedPredicate.describe("are public API classes",
        c -> c.getPackageName() != null && Boundary.API_PACKAGES.contains(c.getPackageName()) && visible(c));

    private static boolean visible(JavaClass c) {
        for (JavaClass k = c; k != null; k = k.getEnclosingClass().orElse(null)) {
            if (!k.getModifiers().contains(JavaModifier.PUBLIC) || k.isAnonymousClass() || k.isLocalClass()) {
                return false;
            }
        }
        return true;
    }

    /** (a) Every package of the build is an API package or matches a named internal package: nothing in between. */
    static ArchRule everyPackageIsClassified() {
        return classes().should(new ArchCondition<JavaClass>("reside in an API package or a named internal package") {
            @Override public void check(JavaClass c, ConditionEvents events) {
                String p = c.getPackageName();
                boolean ok = Boundary.API_PACKAGES.contains(p)
                    || Boundary.INTERNAL_PACKAGES.stream().anyMatch(m -> PackageMatcher.of(m).matches(p));
                if (!ok) {
                    events.add(SimpleConditionEvent.violated(c, c.getName() + " is in package " + p
                        + ", neither an API package " + Boundary.API_PACKAGES + " nor an internal one (architecture/Boundary)"));
                }
            }
        });
    }

    /** (b) Public and protected members of public API classes mention only API, JDK and the allowed libraries' types. */
    static ArchRule apiMentionsOnlyApiTypes() {
        return classes().that(API_CLASS).should(exposeOnly(Boundary.FROZEN_API_LEAKS)).allowEmptyShould(false);
    }

    /** Every "member -> internal type" the API exposes, frozen or not. */
    static Set<String> apiLeaks(Iterable<JavaClass> classes) {
        Set<String> out = new TreeSet<>();
        for (JavaClass c : classes) {
            if (API_CLASS.test(c)) {
                out.addAll(leaks(c));
            }
        }
        return out;
    }

    private static ArchCondition<JavaClass> exposeOnly(Set<String> frozen) {
        return new ArchCondition<>("mention only API types, JDK types and slf4j/JUnit/Awaitility types in public and protected members") {
            @Override public void check(JavaClass c, ConditionEvents events) {
                for (String leak : leaks(c)) {
                    if (!frozen.contains(leak)) {
                        events.add(SimpleConditionEvent.violated(c, "public API member exposes an internal type: " + leak));
                    }
                }
            }
        };
    }

    private static List<String> leaks(JavaClass c) {
        List<String> out = new ArrayList<>();
        c.getSuperclass().ifPresent(s -> add(out, c.getName() + " extends", s));
        c.getInterfaces().forEach(i -> add(out, c.getName() + " implements", i));
        for (JavaField f : c.getFields()) {
            if (exposed(f)) {
                add(out, f.getFullName(), f.getType());
            }
        }
        for (JavaCodeUnit u : c.getCodeUnits()) {
            if (!exposed(u) || u.getModifiers().contains(JavaModifier.SYNTHETIC) || u.getModifiers().contains(JavaModifier.BRIDGE)) {
                continue;
            }
            add(out, u.getFullName(), u.getReturnType());
            u.getParameterTypes().forEach(t -> add(out, u.getFullName(), t));
            u.getThrowsClause().getTypes().forEach(t -> add(out, u.getFullName(), t));
        }
        return out;
    }

    private static boolean exposed(JavaMember m) {
        Set<JavaModifier> mods = m.getModifiers();
        return mods.contains(JavaModifier.PUBLIC) || mods.contains(JavaModifier.PROTECTED);
    }

    private static void add(List<String> out, String member, JavaType type) {
        for (JavaClass raw : type.getAllInvolvedRawTypes()) {
            JavaClass t = raw.isArray() ? raw.getBaseComponentType() : raw;
            if (t.isPrimitive() || allowed(t.getPackageName())) {
                continue;
            }
            out.add(member + " -> " + t.getName());
        }
    }

    private static boolean allowed(String pkg) {
        return Boundary.API_PACKAGES.contains(pkg) || Boundary.FOREIGN_ALLOWED.stream().anyMatch(m -> PackageMatcher.of(m).matches(pkg));
    }

    /** (c) The junit module and a consumer's code depend only on API packages and the allowed libraries. */
    static ArchRule consumersUseOnlyTheApi() {
        return classes().that().resideInAnyPackage("org.jbtrfs.junit..", Boundary.CONSUMER_PACKAGES)
            .should().onlyDependOnClassesThat(resideInAnyPackage(apiAndForeign()).or(DescribedPredicate.describe(
                "are primitives or arrays of them", c -> c.isPrimitive() || c.isArray() && c.getBaseComponentType().isPrimitive())))
            .allowEmptyShould(false);
    }

    /**
     * (d) The module layering, core ← workqueue ← transaction ← {qgroup, cleaner} ← fs ← {junit, stress, differential,
     * bench}: no lower package reaches up, siblings do not reach each other.
     */
    static ArchRule layering() {
        return layeredArchitecture().consideringOnlyDependenciesInLayers()
            .layer("core").definedBy("org.jbtrfs.core..")
            .layer("workqueue").definedBy("org.jbtrfs.workqueue..")
            .layer("transaction").definedBy("org.jbtrfs.transaction..")
            .layer("qgroup").definedBy("org.jbtrfs.qgroup..")
            .layer("cleaner").definedBy("org.jbtrfs.cleaner..")
            .layer("fs").definedBy("org.jbtrfs.fs..")
            .layer("junit").definedBy("org.jbtrfs.junit..")
            .layer("stress").definedBy("org.jbtrfs.stress..")
            .layer("differential").definedBy("org.jbtrfs.differential..")
            .layer("bench").definedBy("org.jbtrfs.bench..")
            .whereLayer("junit").mayNotBeAccessedByAnyLayer()
            .whereLayer("stress").mayNotBeAccessedByAnyLayer()
            .whereLayer("differential").mayNotBeAccessedByAnyLayer()
            .whereLayer("bench").mayNotBeAccessedByAnyLayer()
            .whereLayer("fs").mayOnlyBeAccessedByLayers("junit", "stress", "differential", "bench")
            .whereLayer("qgroup").mayOnlyBeAccessedByLayers("fs", "junit", "stress", "differential", "bench")
            .whereLayer("cleaner").mayOnlyBeAccessedByLayers("fs", "junit", "stress", "differential", "bench")
            .whereLayer("transaction").mayOnlyBeAccessedByLayers("qgroup", "cleaner", "fs", "junit", "stress", "differential", "bench")
            .whereLayer("workqueue").mayOnlyBeAccessedByLayers("transaction", "qgroup", "cleaner", "fs", "junit", "stress", "differential", "bench");
    }

    /**
     * Tests wait through one explicit preset (org.jbtrfs.testsupport.Waits): no class changes Awaitility's global
     * defaults, which would make a wait depend on which test class ran first in the JVM (issue 13 item 1).
     */
    static ArchRule noGlobalAwaitilityDefaults() {
        return com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses()
            .should().callMethodWhere(DescribedPredicate.describe("Awaitility.setDefault*()", call ->
                call.getTarget().getOwner().getName().equals("org.awaitility.Awaitility")
                    && call.getTarget().getName().startsWith("setDefault")));
    }

    /**
     * Tests start threads through test-support's {@code TestThread} only (named, daemon, a bounded join that fails
     * with the thread's stack): no {@code new Thread}, no {@code CompletableFuture.runAsync/supplyAsync} (a common-pool
     * thread and an unbounded {@code join}), no {@code Executors}. The kernel's own threads (kthreadd, the kworker pool)
     * are production code and not tests.
     */
    static ArchRule testThreadsOnlyThroughTestThread() {
        return com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses()
            .should().callConstructorWhere(DescribedPredicate.describe("new Thread(...)", call ->
                call.getTargetOwner().isAssignableTo(Thread.class)))
            .orShould().callMethodWhere(DescribedPredicate.describe("CompletableFuture.runAsync/supplyAsync(), Executors.*()", call ->
                (call.getTargetOwner().getName().equals("java.util.concurrent.CompletableFuture")
                    && (call.getName().equals("runAsync") || call.getName().equals("supplyAsync")))
                    || call.getTargetOwner().getName().equals("java.util.concurrent.Executors")))
            .because("a test's thread is a TestThread: named, daemon, joined within a bound that fails with its stack");
    }

    /** (d) The internal accessor (fs.internal) serves fs and our tools, never the junit module or a consumer. */
    static ArchRule internalAccessorOnlyForTools() {
        return classes().that().resideInAPackage(Boundary.INTERNAL_ACCESSOR)
            .should().onlyBeAccessed().byClassesThat().resideInAnyPackage(Boundary.INTERNAL_ACCESSOR_USERS.toArray(String[]::new))
            .allowEmptyShould(false);
    }
}
