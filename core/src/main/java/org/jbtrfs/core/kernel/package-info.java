/**
 * Internal: the kernel machinery every subsystem runs on — {@link org.jbtrfs.core.kernel.Kernel} (one loaded module's
 * context), kthreads and kthreadd on lent pooled threads, {@link org.jbtrfs.core.kernel.Sched} (who sleeps in which
 * wait), {@link org.jbtrfs.core.kernel.FlagWord} (test_bit / wait_on_bit), object lifetimes and slab caches, mutexes,
 * the crc32c drivers, the latency-injecting block device, the mount option bits. Not API: consumers configure and
 * observe the kernel through {@code org.jbtrfs.core} and {@code org.jbtrfs.fs} (docs/api.md).
 */
package org.jbtrfs.core.kernel;
