package org.jbtrfs.stress.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.WorkOwner;
import org.junit.jupiter.api.Test;

/**
 * With several filesystems in one module, a hook arrival goes to the filesystem the arriving thread works for.
 * Regression: pooled kworkers — the qgroup rescan worker among them — went to a shared scope that perturbs and
 * records nothing, so with {@code --filesystems N > 1} no rescan worker was ever held at a focused hook; they are now
 * told apart by the device of the work they run ({@link WorkOwner}, set by the workqueue).
 */
class PerturbationTest {
    @Test
    void aKworkerArrivalGoesToTheFilesystemOfItsWork() {
        ScheduleScope sdc = new ScheduleScope(0);
        ScheduleScope sdd = new ScheduleScope(1);
        Timeline first = new Timeline(System.nanoTime());
        Timeline second = new Timeline(System.nanoTime());
        sdc.begin(new Schedule(ScheduleTest.findNonQuietSeed()), first);
        sdd.begin(new Schedule(ScheduleTest.findNonQuietSeed()), second);
        Perturbation p = new Perturbation(new ScheduleScope[] {sdc, sdd}, new ScheduleScope(-1));
        p.registerDevice("sdc", sdc);
        p.registerDevice("sdd", sdd);
        Thread self = Thread.currentThread();

        WorkOwner.run("sdd", () -> p.arrived(Hook.QGROUP_RESCAN_BEFORE_LEAF, self));
        p.register(self, sdc); // a thread's registration (a driver's) loses to the work's mark
        WorkOwner.run("sdd", () -> p.arrived(Hook.QGROUP_RESCAN_BEFORE_STATUS_UPDATE, self));
        p.arrived(Hook.CLEANER_BEFORE_SCHEDULE, self); // no work: the registration

        assertEquals(List.of(Hook.QGROUP_RESCAN_BEFORE_LEAF, Hook.QGROUP_RESCAN_BEFORE_STATUS_UPDATE),
            second.arrivals().stream().map(Timeline.Arrival::hook).toList());
        assertEquals(List.of(Roles.RESCAN, Roles.RESCAN), second.arrivals().stream().map(Timeline.Arrival::role).toList());
        assertEquals(List.of(Hook.CLEANER_BEFORE_SCHEDULE), first.arrivals().stream().map(Timeline.Arrival::hook).toList());
        assertEquals(null, WorkOwner.device(), "the mark ends with the work");
    }
}
