package org.jbtrfs.stress.workload;

import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.stress.classify.Observation;

/**
 * The benchmark cycle, comparable with the real kernel: mount RW, create a file, unlink it, remount
 * RO, umount. No hooks, no faults, no inspection: only what the verdict needs (log, slabs).
 */
public final class MinimalWorkload {
    private MinimalWorkload() { }

    public static Btrfs run(CycleEnv env, Observation obs) {
        Btrfs fs = env.op("mount", () -> env.module.mount(env.device, ""));
        env.op("create", () -> fs.createFile("m"));
        env.op("unlink", () -> fs.unlink("m"));
        env.op("remount ro", () -> fs.remount("ro"));
        try {
            env.op("umount", fs::umount);
        } catch (RuntimeException | Error e) {
            obs.umountFailed(e);
        }
        return fs;
    }
}
