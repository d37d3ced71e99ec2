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
}
