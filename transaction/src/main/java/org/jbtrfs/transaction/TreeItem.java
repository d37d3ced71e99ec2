package org.jbtrfs.transaction;

import org.jbtrfs.core.disk.Key;

/** One item of a tree leaf: key and a copy of its data. */
public record TreeItem(Key key, byte[] data) {
}
