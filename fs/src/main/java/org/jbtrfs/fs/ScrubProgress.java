package org.jbtrfs.fs;

/**
 * What a scrub did (struct btrfs_scrub_progress, the fields a single-device scrub without repair fills): extents and
 * bytes read, per kind; read errors, tree blocks whose header failed its checks ({@code verifyErrors}: bytenr,
 * generation, fsid), data sectors without a checksum ({@code noCsum}), data sectors and tree blocks that failed their
 * checksum ({@code csumErrors}), bad superblocks, errors nothing could repair (a read-only scrub judges none), the device
 * offset it reached, and the errors a replace's copy took from the target's copy instead ({@code correctedErrors}), and
 * the blocks of a failed read that read well alone ({@code unverifiedErrors}).
 */
public record ScrubProgress(long dataExtentsScrubbed, long treeExtentsScrubbed, long dataBytesScrubbed, long treeBytesScrubbed,
                            long readErrors, long verifyErrors, long noCsum, long superErrors, long uncorrectableErrors,
                            long lastPhysical, long correctedErrors, long unverifiedErrors, long csumErrors) {

    /**
     * The errors {@code btrfs scrub status} sums in its error summary (read, super, verify and csum errors): 0 when it
     * says "no errors found".
     */
    public long errorCount() {
        return readErrors + superErrors + verifyErrors + csumErrors;
    }

    /** sctx->stat while the scrub runs; the scrub's lock guards it. */
    static final class Counter {
        long dataExtentsScrubbed;
        long treeExtentsScrubbed;
        long dataBytesScrubbed;
        long treeBytesScrubbed;
        long readErrors;
        long verifyErrors;
        long noCsum;
        long superErrors;
        long uncorrectableErrors;
        long lastPhysical;
        long correctedErrors;
        long unverifiedErrors;
        long csumErrors;

        ScrubProgress snapshot() {
            return new ScrubProgress(dataExtentsScrubbed, treeExtentsScrubbed, dataBytesScrubbed, treeBytesScrubbed,
                readErrors, verifyErrors, noCsum, superErrors, uncorrectableErrors, lastPhysical, correctedErrors, unverifiedErrors,
                csumErrors);
        }
    }
}
