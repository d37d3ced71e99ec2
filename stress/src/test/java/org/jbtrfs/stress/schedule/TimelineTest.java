package org.jbtrfs.stress.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.jbtrfs.stress.StressOptions;
import org.junit.jupiter.api.Test;

/** The text timeline of a lanes cycle has a column per lane the runner knows (the scrub lane's since stop 52). */
class TimelineTest {

    @Test
    void everyLaneHasItsOwnColumn() {
        for (String lane : StressOptions.LANES) {
            assertEquals(Timeline.LANE_COLUMNS.indexOf(lane), Timeline.laneColumn(lane), lane);
        }
        assertEquals(Timeline.LANE_COLUMNS.size() - 1, Timeline.laneColumn("other:something"), "anything else is 'other'");
    }

    /** A full record keeps the latest arrivals: a cycle fails at its end (stop 62: a scrub's stripes filled it early). */
    @Test
    void aFullRecordKeepsTheLatestArrivals() {
        Timeline t = new Timeline(System.nanoTime());
        for (int i = 0; i < Timeline.CAPACITY; i++) {
            t.add("scrub", org.jbtrfs.core.Hook.SCRUB_STRIPE, "");
        }
        t.add("driver", org.jbtrfs.core.Hook.UMOUNT_START, "");
        assertEquals(Timeline.CAPACITY, t.arrivals().size());
        assertEquals(org.jbtrfs.core.Hook.UMOUNT_START, t.arrivals().get(Timeline.CAPACITY - 1).hook());
        assertEquals(1, t.dropped());
    }
}
