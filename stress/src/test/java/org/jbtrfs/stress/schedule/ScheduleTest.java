package org.jbtrfs.stress.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.core.Hook;
import org.jbtrfs.stress.Seeds;
import org.junit.jupiter.api.Test;

class ScheduleTest {
    private static List<Schedule.Decision> draw(Schedule s, String role, int n) {
        List<Schedule.Decision> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            l.add(s.decide(role, Hook.values()[i % Hook.values().length]));
        }
        return l;
    }

    @Test
    void cycleSeedsAreAFunctionOfRunSeedFilesystemAndCycle() {
        assertEquals(Seeds.cycleSeed(7, 0, 3), Seeds.cycleSeed(7, 0, 3));
        assertNotEquals(Seeds.cycleSeed(7, 0, 3), Seeds.cycleSeed(7, 0, 4));
        assertNotEquals(Seeds.cycleSeed(7, 0, 3), Seeds.cycleSeed(7, 1, 3));
        assertNotEquals(Seeds.cycleSeed(7, 0, 3), Seeds.cycleSeed(8, 0, 3));
    }

    @Test
    void aRolesDecisionsDoNotDependOnOtherRolesArrivals() {
        long seed = findNonQuietSeed();
        Schedule alone = new Schedule(seed);
        List<Schedule.Decision> cleanerAlone = draw(alone, Roles.CLEANER, 200);

        Schedule interleaved = new Schedule(seed);
        List<Schedule.Decision> cleaner = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            interleaved.decide(Roles.DRIVER, Hook.REMOUNT_AFTER_SET_RO);
            interleaved.decide(Roles.RESCAN, Hook.QGROUP_RESCAN_BEFORE_LEAF);
            cleaner.add(interleaved.decide(Roles.CLEANER, Hook.values()[i % Hook.values().length]));
        }
        assertEquals(cleanerAlone, cleaner);
        assertTrue(cleanerAlone.stream().anyMatch(d -> d.nanos() > 0), "a perturbed cycle delays some arrivals");
        for (int i = 0; i < cleanerAlone.size(); i++) {
            Hook h = Hook.values()[i % Hook.values().length];
            long max = Schedule.LATER_HOOKS.contains(h) ? Schedule.LATER_FOCUS_MAX_NANOS : 3_000_000;
            assertTrue(cleanerAlone.get(i).nanos() <= max, "no delay above " + max / 1_000_000 + " ms at " + h);
        }
    }

    /**
     * The hooks added after the schedules were fixed ({@link Schedule#LATER_HOOKS}) are focused and decided from
     * streams of their own: arrivals there do not shift a role's decisions at the other hooks, so every earlier
     * replay token still replays its choices; a cycle that focuses one delays some arrivals there, never more than
     * {@link Schedule#LATER_FOCUS_MAX_NANOS}, and a cycle that does not never delays there.
     */
    @Test
    void theLaterHooksDrawFromStreamsOfTheirOwn() {
        Hook later = Hook.QGROUP_RESCAN_IOCTL_BEFORE_QUEUE;
        long seed = 1;
        while (!new Schedule(seed).laterFocus().contains(later)) {
            seed++;
        }
        List<Hook> older = java.util.Arrays.stream(Hook.values()).filter(h -> !Schedule.LATER_HOOKS.contains(h)).toList();
        Schedule alone = new Schedule(seed);
        Schedule interleaved = new Schedule(seed);
        List<Schedule.Decision> a = new ArrayList<>();
        List<Schedule.Decision> b = new ArrayList<>();
        List<Schedule.Decision> atLater = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            Hook h = older.get(i % older.size());
            a.add(alone.decide(Roles.DRIVER, h));
            atLater.add(interleaved.decide(Roles.DRIVER, later));
            b.add(interleaved.decide(Roles.DRIVER, h));
        }
        assertEquals(a, b);
        assertTrue(atLater.stream().anyMatch(d -> d.nanos() > 0), "a focused later hook delays some arrivals");
        assertTrue(atLater.stream().allMatch(d -> d.nanos() <= Schedule.LATER_FOCUS_MAX_NANOS && !d.yield()), "only focus delays, at most 20 ms");

        long unfocused = seed + 1;
        while (new Schedule(unfocused).quiet() || new Schedule(unfocused).laterFocus().contains(later)) {
            unfocused++;
        }
        Schedule s = new Schedule(unfocused);
        for (int i = 0; i < 300; i++) {
            assertEquals(Schedule.Decision.NONE, s.decide(Roles.DRIVER, later));
        }
    }

    /** The first seed whose cycle is not quiet (its schedule perturbs). */
    static long findNonQuietSeed() {
        for (long s = 1; ; s++) {
            if (!new Schedule(s).quiet()) {
                return s;
            }
        }
    }

    @Test
    void timelineRendersOneColumnPerRole() {
        Timeline t = new Timeline(System.nanoTime());
        t.add(Roles.DRIVER, Hook.REMOUNT_AFTER_SET_RO, "");
        t.add(Roles.CLEANER, Hook.CLEANER_BEFORE_REMOVE_BG_TRANS, "[sleep 1.00ms]");
        t.add(Roles.RESCAN, Hook.QGROUP_RESCAN_BEFORE_LEAF, "");
        String[] rows = t.render(10).split("\n");
        assertTrue(rows[0].contains("btrfs-cleaner") && rows[0].contains("rescan worker"), rows[0]);
        String cleanerRow = rows[3];
        int cleanerCol = rows[0].indexOf("btrfs-cleaner");
        assertEquals(cleanerCol, cleanerRow.indexOf("CLEANER_BEFORE_REMOVE_BG_TRANS"), cleanerRow);
    }
}
