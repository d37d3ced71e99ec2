package org.jbtrfs.core;

/**
 * Sees every arrival at every hook of a module (the stress runner's schedule perturbation and
 * timeline). Runs in the arriving thread; may delay it.
 */
@FunctionalInterface
public interface HookListener {
    void arrived(Hook hook, Thread thread);
}
