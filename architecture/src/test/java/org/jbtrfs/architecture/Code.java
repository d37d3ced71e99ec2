package org.jbtrfs.architecture;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The classes the rules read: each module's compiled main classes, and the example consumer's compiled tests. */
final class Code {
    private Code() { }

    private static JavaClasses production;

    /** The repository root: surefire runs in architecture/ and names it in {@code basedir}. */
    static Path root() {
        return Path.of(System.getProperty("basedir", ".")).toAbsolutePath().normalize().getParent();
    }

    /** Every jar module's target/classes: the production code, without tests (test-jars share packages). */
    static List<Path> productionDirs() {
        List<Path> dirs = new ArrayList<>();
        for (String m : Boundary.MODULES) {
            Path d = root().resolve(m).resolve("target/classes");
            assertTrue(Files.isDirectory(d), "module " + m + " is not compiled: " + d);
            dirs.add(d);
        }
        return dirs;
    }

    static synchronized JavaClasses production() {
        if (production == null) {
            production = new ClassFileImporter().importPaths(productionDirs());
        }
        return production;
    }

    private static JavaClasses tests;

    /** Every module's compiled tests (target/test-classes), for the rules on how tests are written. */
    static synchronized JavaClasses tests() {
        if (tests == null) {
            List<Path> dirs = new ArrayList<>();
            for (String m : Boundary.MODULES_WITH_TESTS) {
                Path d = root().resolve(m).resolve("target/test-classes");
                if (Files.isDirectory(d)) {
                    dirs.add(d);
                }
            }
            assertTrue(dirs.size() > 5, "the modules' tests are not compiled: " + dirs);
            tests = new ClassFileImporter().importPaths(dirs);
        }
        return tests;
    }

    /** examples/junit-consumer's compiled tests, or null when examples/ was not built in this run (e.g. -pl). */
    static Path consumerDir() {
        Path d = root().resolve(Boundary.CONSUMER_TEST_CLASSES);
        return Files.isDirectory(d) ? d : null;
    }

    private static JavaClasses withPlanted;

    /**
     * Production code plus every planted violation (classes under this module's src/test/java named Planted* and the
     * package org.jbtrfs.planted), imported once: each rule must fail on it, naming its own planted class.
     */
    static synchronized JavaClasses productionWithPlanted() {
        if (withPlanted == null) {
            List<Path> paths = new ArrayList<>(productionDirs());
            for (String planted : PLANTED) {
                try {
                    paths.add(classFile(Class.forName(planted, false, Code.class.getClassLoader())));
                } catch (ClassNotFoundException e) {
                    throw new IllegalStateException(planted, e);
                }
            }
            withPlanted = new ClassFileImporter().importPaths(paths);
        }
        return withPlanted;
    }

    /** The planted violations, one (or a pair) per rule. */
    static final List<String> PLANTED = List.of(
        "org.jbtrfs.planted.Unclassified",
        "org.jbtrfs.fs.PlantedApiLeak",
        "org.jbtrfs.junit.PlantedInternalUse",
        "com.example.planted.PlantedConsumer",
        "org.jbtrfs.core.kernel.PlantedUpcall",
        "org.jbtrfs.junit.PlantedAccessorUse",
        "org.jbtrfs.planted.PlantedGlobalAwaitility",
        "org.jbtrfs.planted.PlantedRawThread");

    static Path classFile(Class<?> c) {
        try {
            return Path.of(c.getResource(c.getSimpleName() + ".class").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
