package org.jbtrfs.differential;

import java.util.List;

/**
 * What one target produced for one scenario.
 *
 * @param target       the target's name with its version ("kernel 6.18.44", "port (5.11 + every fix)")
 * @param observations the normalised observations, in the order first seen (repeats tallied)
 * @param error        why the scenario stopped early on this target (the step and the error), or null
 * @param seconds      wall time of the run
 */
public record TargetRun(String target, List<Observation> observations, String error, double seconds) {
    public TargetRun {
        observations = List.copyOf(observations);
    }
}
