/**
 * Internal: {@link org.jbtrfs.fs.internal.Internals}, the one door from jbtrfs's own tools (stress, bench,
 * differential) to a filesystem's fs_info and a module's kernel context. The architecture module's rules fail the
 * build if the junit module or a consumer uses it (docs/api.md).
 */
package org.jbtrfs.fs.internal;
