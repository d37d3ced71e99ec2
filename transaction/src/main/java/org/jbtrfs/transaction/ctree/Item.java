package org.jbtrfs.transaction.ctree;

import org.jbtrfs.core.disk.Key;

/** One leaf item copied out of a tree block: its key and a private copy of its data. */
public record Item(Key key, byte[] data) {
}
