package org.jbtrfs.stress.engine;

import java.util.stream.Collectors;
import org.jbtrfs.fs.tools.Check;
import org.jbtrfs.transaction.CommitProbe;
import org.jbtrfs.transaction.FsInfo;

/**
 * {@code -Djbtrfs.stress.checkEveryCommit=true}: btrfs check of the committed image inside every commit, right
 * after its superblock is written (a port-debugging probe, {@link CommitProbe}). The runner's own check runs only
 * after a cycle's last umount, when a later commit may have rewritten a stale pointer; this one names the commit that
 * wrote the damage. Errors are logged as a kernel WARNING at {@code port-debug/check-after-commit} with the
 * committing thread's stack, so the cycle fails with a {@code warn} class and its timeline. Slow: for hunting one
 * class, not for measuring.
 */
final class CommitCheck {
    static final boolean ON = Boolean.getBoolean("jbtrfs.stress.checkEveryCommit");

    private CommitCheck() { }

    /** Installs the probe for this JVM's filesystems when the property asks for it. */
    static void installIfAsked() {
        if (ON) {
            CommitProbe.install(CommitCheck::probe);
        }
    }

    private static void probe(FsInfo fs, long transid) {
        Check.Report rep = Check.check(fs.device);
        String errors = rep.problems().stream().filter(p -> p.severity() == Check.Severity.ERROR)
            .map(p -> p.kind() + ": " + p.message()).collect(Collectors.joining("; "));
        if (!errors.isEmpty()) {
            fs.log().warnOnAt(true, "port-debug/check-after-commit", 1, "transaction " + transid + ": " + errors);
        }
    }
}
