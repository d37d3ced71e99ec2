package org.jbtrfs.planted;

import java.time.Duration;
import org.awaitility.Awaitility;

/** Planted violation of the tests' rule: a global Awaitility default (never initialised: the rules only read it). */
final class PlantedGlobalAwaitility {
    static {
        Awaitility.setDefaultPollInterval(Duration.ofMillis(1));
    }

    private PlantedGlobalAwaitility() { }
}
