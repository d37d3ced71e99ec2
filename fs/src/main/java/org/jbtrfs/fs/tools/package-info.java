/**
 * API: offline readers of a device, as btrfs-progs has them — {@link org.jbtrfs.fs.tools.DumpTree}
 * ({@code btrfs inspect-internal dump-tree}) and {@link org.jbtrfs.fs.tools.Check} ({@code btrfs check}, read-only).
 * They read what the last commit wrote; no module needs to be loaded.
 */
package org.jbtrfs.fs.tools;
