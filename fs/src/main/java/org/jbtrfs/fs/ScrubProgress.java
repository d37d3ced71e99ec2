package org.jbtrfs.fs;

/**
 * What a scrub did (struct btrfs_scrub_progress, the fields a single-device scrub without repair fills): extents and
 * bytes read, per kind; read errors, tree blocks that failed their checks ({@code verifyErrors}), data sectors without a
 * checksum ({@code noCsum}), data sectors that failed theirs ({@code csumErrors}), bad superblocks, errors
 * nothing could repair, the device offset it reached, and the errors a replace's copy took from the target's copy
 * instead ({@code correctedErrors}), and the blocks of a failed read that read well alone ({@code unverifiedErrors}).
 */
public record ScrubProgress(long dataExtentsScrubbed, long treeExtentsScrubbed, long dataBytesScrubbed, long treeBytesScrubbed,
                            long readErrors, long verifyErrors, long noCsum, long superErrors, long uncorrectableErrors,
                            long lastPhysical, long correctedErrors, long unverifiedErrors, long csumErrors) {

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
