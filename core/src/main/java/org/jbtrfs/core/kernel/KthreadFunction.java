package org.jbtrfs.core.kernel;

/** The body of a kthread ({@code int (*threadfn)(void *data)}); its return value is the exit code. */
@FunctionalInterface
public interface KthreadFunction {
    int run(Kthread self);
}
