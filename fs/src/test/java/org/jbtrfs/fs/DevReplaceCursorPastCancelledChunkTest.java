package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Comparator;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.fs.tools.Check;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.space.BlockGroup;
import org.jbtrfs.transaction.space.BlockGroupType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#DEV_REPLACE_CURSOR_PAST_CANCELLED_CHUNK} (proposed, not upstream), both directions, both crc32c modes.
 *
 * <p>Decision: <b>kernel bug</b>, 5.11 through mainline — silent corruption of a replaced device. Found by the explorer's
 * replace lane with every other fix applied (stop 65: the classes {@code f801a4da} — a mount of the disk a resumed
 * replace had just finished onto, "parent transid verify failed … wanted 40 found 150" — {@code 6081a25e} and
 * {@code b8771b25}; one of them failed a CI run's LanesTest). scrub_enumerate_chunks sets cursor_left to the chunk's
 * start and cursor_right to its end, copies it (scrub_chunk), and then moves cursor_left to cursor_right
 * unconditionally; the "if (ret) break" comes after (since 2016; the 2012 code moved it only after a chunk that
 * succeeded). A copy that an umount's or an RO remount's suspend cancels in the middle of a chunk thus records the whole
 * chunk as copied; the commit writes that cursor into the item, and the resumed replace starts after the chunk. The
 * blocks of it the copy had not reached, and that no later write duplicated, never reach the target: when the replace
 * finishes, the filesystem lives on a disk without them. The fix moves the cursor only past a chunk whose copy
 * succeeded. Read: scrub.c scrub_enumerate_chunks, scrub_chunk, scrub_stripe; dev-replace.c btrfs_run_dev_replace,
 * btrfs_dev_replace_kthread, btrfs_dev_replace_suspend_for_unmount (v5.11; mainline's scrub_enumerate_chunks, 2025).
 *
 * <p>The copy is held at the first stripe of the metadata chunk ({@link Hook#DEV_REPLACE_NEXT_CHUNK},
 * {@link Hook#SCRUB_STRIPE}) and an RO remount suspends it there ({@link FixSwitch#DEV_REPLACE_START_WRITE_ACCESS}
 * reverted, so the remount passes the ioctl; an umount of a resumed replace is the same).
 */
class DevReplaceCursorPastCancelledChunkTest {

    private static Repro repro(Crc32cImpl crc, boolean fixed) {
        return DevReplaceTest.suspendableRepro(crc, FixSwitch.DEV_REPLACE_CURSOR_PAST_CANCELLED_CHUNK, fixed);
    }

    /**
     * A replace whose copy an RO remount cancels at the first stripe of the metadata chunk, resumed by the next mount to
     * its end; returns the target, the filesystem unmounted.
     */
    private static BlockDevice replaceCancelledInTheMetadataChunkThenResumed(Repro r) {
        Btrfs fs = DevReplaceTest.withFiles(r);
        for (int i = 0; i < 600; i++) { // tree blocks well past the copy's first stripes
            fs.createFile("/many" + i);
        }
        fs.sync();
        BlockDevice tgt = r.mod.createDevice("sdd", 64L << 20);
        r.mod.hooks().parkAt(Hook.DEV_REPLACE_NEXT_CHUNK, Role.USER);
        TestThread<DevReplaceResult> start = TestThread.call("replace", () -> fs.replaceStart(1, tgt));
        for (int i = 0; i < 16; i++) { // let the chunks before the metadata chunk go (the next chunk: the first group
            // from the end of the last one the copy set its cursor to)
            r.mod.hooks().awaitParked(Hook.DEV_REPLACE_NEXT_CHUNK, Repro.WAIT);
            if (nextChunk(fs).type() == BlockGroupType.METADATA) {
                break;
            }
            long seen = r.mod.hooks().arrivals(Hook.DEV_REPLACE_NEXT_CHUNK);
            r.mod.hooks().parkAt(Hook.DEV_REPLACE_NEXT_CHUNK, Role.USER); // a new arm: releases the parked copy
            Waits.within(Repro.WAIT).until(() -> r.mod.hooks().arrivals(Hook.DEV_REPLACE_NEXT_CHUNK) > seen);
        }
        assertEquals(BlockGroupType.METADATA, nextChunk(fs).type(), "held before the metadata chunk");
        r.mod.hooks().parkAt(Hook.SCRUB_STRIPE, Role.USER);
        r.mod.hooks().disarm(Hook.DEV_REPLACE_NEXT_CHUNK);
        r.mod.hooks().awaitParked(Hook.SCRUB_STRIPE, Repro.WAIT); // its first stripe, nothing of it copied
        // the RO remount's sync commits first (the copy's btrfs_inc_block_group_ro joined a transaction): its
        // btrfs_scrub_pause waits for the copy, which pauses at its next stripe and is held at the one after
        TestThread<Void> remount = TestThread.run("remount", () -> fs.remount("ro"));
        Repro.awaitBlockedOn(fs, "remount", "btrfs_scrub_pause");
        long seen = r.mod.hooks().arrivals(Hook.SCRUB_STRIPE);
        r.mod.hooks().parkAt(Hook.SCRUB_STRIPE, Role.USER); // a new arm: releases the held copy, parks its next stripe
        Waits.within(Repro.WAIT).until(() -> r.mod.hooks().arrivals(Hook.SCRUB_STRIPE) > seen);
        r.mod.hooks().awaitParked(Hook.SCRUB_STRIPE, Repro.WAIT); // a later stripe of the same chunk
        Repro.awaitBlockedOn(fs, "remount", "btrfs_scrub_cancel"); // suspended, the cancel requested
        r.mod.hooks().disarm(Hook.SCRUB_STRIPE); // the copy sees the cancel at its next stripe: -ECANCELED mid-chunk
        remount.join();
        assertEquals(DevReplaceResult.NO_ERROR, start.join(), "suspended");
        fs.umount();
        Btrfs again = r.mount(""); // the resume copies from the committed cursor, to the end
        DevReplaceTest.awaitResumedReplaceFinished(r, "sdc", "sdd");
        again.umount();
        return tgt;
    }

    /** The block group the copy goes to next: the first from where its cursor last ended (0 at the start). */
    private static BlockGroup nextChunk(Btrfs fs) {
        long from = fs.fsInfo().devReplace.cursorRight;
        return fs.fsInfo().space.blockGroups().stream().filter(g -> g.start() >= from)
            .min(Comparator.comparingLong(BlockGroup::start)).orElseThrow();
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheResumedReplaceSkipsTheRestOfTheCancelledChunk(Crc32cImpl crc) {
        try (Repro r = repro(crc, false)) {
            BlockDevice tgt = replaceCancelledInTheMetadataChunkThenResumed(r);
            assertTrue(r.logged("to target sdd @"), r.mod.log().dmesg());
            Check.Report rep = Check.check(tgt, crc);
            assertFalse(rep.clean(), "the target lacks the metadata chunk's blocks: " + rep);
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheResumedReplaceCopiesTheCancelledChunkAgain(Crc32cImpl crc) {
        try (Repro r = repro(crc, true)) {
            BlockDevice tgt = replaceCancelledInTheMetadataChunkThenResumed(r);
            Check.Report rep = Check.check(tgt, crc);
            assertTrue(rep.clean(), rep.toString());
            Btrfs moved = r.mod.mount(tgt, "");
            for (int i = 0; i < 8; i++) {
                assertArrayEquals(DevReplaceTest.DATA, moved.readFile("/f" + i));
            }
            moved.umount();
            assertTrue(r.mod.unload().clean());
        }
    }
}
