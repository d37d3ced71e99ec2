package org.jbtrfs.differential.kernel;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.differential.KernelStuckException;
import org.jbtrfs.differential.TargetException;

/** Runs btrfs-progs and util-linux commands (never mount(8) / umount(8)) with a time limit. */
final class Shell {
    /** How long a command may take before the kernel is taken for stuck. */
    static final long TIMEOUT_SECONDS = 120;

    private Shell() { }

    /** The command's stdout; TargetException with its stderr if it exits non-zero. */
    static String run(String... cmd) {
        Result r = runAllowingFailure(cmd);
        if (r.exit() != 0) {
            throw new TargetException(String.join(" ", cmd) + " failed (exit " + r.exit() + "): " + r.err().strip());
        }
        return r.out();
    }

    record Result(int exit, String out, String err) { }

    static Result runAllowingFailure(String... cmd) {
        ProcessBuilder pb = new ProcessBuilder(List.of(cmd));
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new TargetException("cannot run " + cmd[0] + ": " + e.getMessage(), e);
        }
        try {
            // read both streams on their own threads: a full pipe would block the command
            var out = new java.util.concurrent.CompletableFuture<String>();
            var err = new java.util.concurrent.CompletableFuture<String>();
            drain(p.getInputStream(), out);
            drain(p.getErrorStream(), err);
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new KernelStuckException(String.join(" ", cmd) + " did not return within " + TIMEOUT_SECONDS
                    + " s: the kernel's btrfs looks stuck. Stopping; nothing more is asked of it (see dmesg).");
            }
            return new Result(p.exitValue(), out.get(10, TimeUnit.SECONDS), err.get(10, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new TargetException("interrupted running " + cmd[0]);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new TargetException("cannot read the output of " + cmd[0] + ": " + e, e);
        }
    }

    private static void drain(java.io.InputStream in, java.util.concurrent.CompletableFuture<String> into) {
        Thread t = new Thread(() -> {
            try (in) {
                into.complete(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                into.completeExceptionally(e);
            }
        }, "shell-drain");
        t.setDaemon(true);
        t.start();
    }

    /** Whether {@code program} is an executable on PATH. */
    static boolean onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(":")) {
            if (!dir.isEmpty() && java.nio.file.Files.isExecutable(java.nio.file.Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }
}
