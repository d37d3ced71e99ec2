package org.jbtrfs.differential;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.jbtrfs.differential.kernel.UnavailableException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DifferentialMainTest {
    @TempDir
    Path dir;

    private String out;
    private String err;

    private int run(DifferentialMain.KernelFactory kernels, String... args) {
        StringWriter o = new StringWriter();
        StringWriter e = new StringWriter();
        int code = DifferentialMain.run(args, new PrintWriter(o), new PrintWriter(e), kernels);
        out = o.toString();
        err = e.toString();
        return code;
    }

    private static final DifferentialMain.KernelFactory NOT_ROOT = d -> {
        throw new UnavailableException(List.of("the kernel target needs root (mount(2), loop devices): run it as root, e.g. with sudo"));
    };

    /** A stand-in "kernel" that is the port itself: both columns must then agree. */
    private static final DifferentialMain.KernelFactory PORT_AS_KERNEL = d -> new PortTarget();

    @Test
    void listShowsTheShippedScenarios() {
        assertEquals(0, run(NOT_ROOT, "list"));
        assertTrue(out.contains("btrfs-233-ro-rw") && out.contains("qgroup-rescan-paused") && out.contains("performance-anchor"), out);
    }

    @Test
    void aKernelTargetWithoutRootIsAClearErrorExitTwo() {
        assertEquals(2, run(NOT_ROOT, "run", "btrfs-233-ro"));
        assertTrue(err.contains("the kernel target cannot run here:\n  - the kernel target needs root"), err);
        assertEquals(2, run(NOT_ROOT, "anchor", "--target", "kernel"));
    }

    @Test
    void skipIfUnavailableSkipsCleanly() {
        assertEquals(0, run(NOT_ROOT, "run", "--all", "--skip-if-unavailable"));
        assertTrue(out.startsWith("SKIPPED: the kernel target cannot run here: the kernel target needs root"), out);
    }

    @Test
    void usageErrorsExitTwo() {
        assertEquals(2, run(NOT_ROOT, "run", "no-such-scenario", "--target", "port"));
        assertTrue(err.contains("unknown scenario 'no-such-scenario'; shipped scenarios are: btrfs-233-rw"), err);
        assertEquals(2, run(NOT_ROOT, "run", "--frobnicate"));
        assertEquals(2, run(NOT_ROOT, "run", "btrfs-233-ro", "--target", "vm"));
        assertTrue(err.contains("--target must be both, kernel or port"), err);
        assertEquals(2, run(NOT_ROOT, "run", "--target", "port"));
        assertEquals(2, run(NOT_ROOT, "run", "btrfs-233-ro", "--target", "port", "-p", "nope=1"));
        assertTrue(err.contains("unknown parameter(s) [nope]"), err);
    }

    @Test
    void aScenarioFileWithAnUnknownStepOrOptionExitsTwo() throws IOException {
        Path bad = Files.writeString(dir.resolve("bad.scn"), "scenario bad\nmkfs 256M\nmount\nbalance start\n");
        assertEquals(2, run(NOT_ROOT, "run", "--file", bad.toString(), "--target", "port"));
        assertTrue(err.contains("bad.scn line 4: unknown step 'balance start'"), err);
        Path opt = Files.writeString(dir.resolve("opt.scn"), "scenario opt\nmkfs 256M\nmount compress=zstd\n");
        assertEquals(2, run(NOT_ROOT, "run", "--file", opt.toString(), "--target", "port"));
        assertTrue(err.contains("opt.scn line 3: unknown mount option 'compress=zstd'"), err);
        Path good = Files.writeString(dir.resolve("good.scn"), "scenario good\nmkfs 256M\nmount\nobserve root-tree\numount\n");
        assertEquals(2, run(NOT_ROOT, "run", "--file", good.toString()), "an unshipped scenario never runs on the kernel");
        assertTrue(err.contains("--file runs on the port only"), err);
        assertEquals(0, run(NOT_ROOT, "run", "--file", good.toString(), "--target", "port"));
        assertTrue(out.contains("| #1 root-tree: root item 5 | refs 1 |"), out);
    }

    @Test
    void bothTargetsSideBySideWithMarkdownOutput() throws IOException {
        Path md = dir.resolve("t.md");
        assertEquals(0, run(PORT_AS_KERNEL, "run", "btrfs-233-ro-rw", "--latency", "off", "--markdown", md.toString()));
        assertTrue(out.contains("| observation | port (5.12 code paths, every fix) | port (5.12 code paths, every fix) | verdict | reason |"), out);
        assertTrue(out.contains("7 agree, 1 one-sided") || out.contains("8 agree"), out);
        assertTrue(Files.readString(md).contains("### btrfs-233-ro-rw"));
    }

    @Test
    void anUnknownLatencyModelIsAUsageError() {
        assertEquals(2, run(PORT_AS_KERNEL, "run", "btrfs-233-rw", "--target", "port", "--latency", "fast"));
        assertTrue(err.contains("latency model must be off, virtio or read,write,flush,wakeup"), err);
    }
}
