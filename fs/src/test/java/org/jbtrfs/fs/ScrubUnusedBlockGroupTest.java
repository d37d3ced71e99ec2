package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.jbtrfs.core.Role;
import org.junit.jupiter.api.Test;

/**
 * Scrub and the cleaner's deletion of unused block groups (v5.11, ported as the kernel has it): Filipe Manana's "Btrfs:
 * fix scrub preventing unused block groups from being deleted" (4.x). The cleaner's btrfs_delete_unused_bgs takes a
 * group off fs_info->unused_bgs and skips it while it is read-only — here because a scrub holds it so — without putting it
 * back; scrub_enumerate_chunks, done with the group, finds it unused and puts it back (btrfs_mark_bg_unused), and the
 * next cleaner pass deletes it.
 */
class ScrubUnusedBlockGroupTest {

    @Test
    void aGroupTheCleanerSkippedWhileScrubHeldItIsPutBackOnTheUnusedList() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = r.mountSettled("");
            CleanerRoRemountRaceTest.makeOneUnusedBlockGroup(fs);
            List<Long> unused = fs.inspect().unusedBlockGroups();
            assertEquals(1, unused.size());
            long group = unused.get(0);
            int groups = fs.inspect().blockGroups().size();
            // at a stripe of that group (read-only for the scrub), one whole cleaner pass
            AtomicBoolean ran = new AtomicBoolean();
            r.mod.hooks().arm(Hook.SCRUB_STRIPE, HookAction.run(() -> {
                boolean held = fs.inspect().blockGroups().stream().anyMatch(b -> b.start() == group && b.readOnly());
                if (held && ran.compareAndSet(false, true)) {
                    fs.runCleanerPass(Repro.WAIT);
                    assertEquals(List.of(), fs.inspect().unusedBlockGroups(), "taken off the list and skipped: read-only");
                }
            }).onlyFor(Role.USER), -1);
            ScrubProgress p = fs.scrub(true);
            r.mod.hooks().disarm(Hook.SCRUB_STRIPE);
            assertTrue(ran.get(), "the cleaner ran while the scrub held the group");
            assertEquals(0, p.errorCount(), p.toString());
            assertEquals(List.of(group), fs.inspect().unusedBlockGroups(), "the scrub put it back");
            fs.runCleanerPass(Repro.WAIT);
            fs.sync();
            assertEquals(groups - 1, fs.inspect().blockGroups().size(), "the next pass deleted it");
            fs.umount();
            assertTrue(r.mod.unload().clean());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }
}
