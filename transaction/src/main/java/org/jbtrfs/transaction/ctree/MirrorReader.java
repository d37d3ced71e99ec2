package org.jbtrfs.transaction.ctree;

import java.util.function.LongFunction;

/**
 * kernel: read_tree_block() with the expectations of its caller — btree_read_extent_buffer_pages(): a block that fails
 * its checks (the header's, then the parent's: transid, level, first key) is read again from the next mirror
 * (btrfs_num_copies) until one passes, and the mirror that failed is repaired from it (btrfs_repair_eb_io_failure). A
 * plain {@link LongFunction} reader is read once and checked once.
 */
public interface MirrorReader extends LongFunction<ExtentBuffer> {
    /** The checks a caller makes of the block it read from mirror {@code mirror}; a failed one throws BtrfsException. */
    @FunctionalInterface
    interface Verifier {
        Verifier NONE = (eb, mirror) -> { };

        void verify(ExtentBuffer eb, int mirror);
    }

    /** The block at {@code bytenr} that passed {@code verify}, from the first mirror whose copy does. */
    ExtentBuffer read(long bytenr, Verifier verify);

    @Override
    default ExtentBuffer apply(long bytenr) { return read(bytenr, Verifier.NONE); }

    /** {@code reader}'s block checked by {@code verify}: on every mirror for a {@link MirrorReader}, once for another. */
    static ExtentBuffer read(LongFunction<ExtentBuffer> reader, long bytenr, Verifier verify) {
        if (reader instanceof MirrorReader m) {
            return m.read(bytenr, verify);
        }
        ExtentBuffer eb = reader.apply(bytenr);
        verify.verify(eb, 1);
        return eb;
    }
}
