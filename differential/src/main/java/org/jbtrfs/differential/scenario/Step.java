package org.jbtrfs.differential.scenario;

import java.util.List;

/**
 * One step of a scenario, as parsed (parameters substituted).
 *
 * @param line    where it is in the scenario source (1-based)
 * @param verb    what it does
 * @param args    its arguments (for {@code observe}: the kind's argument, if any)
 * @param body    the steps of a {@code repeat} (empty otherwise)
 * @param kind    for {@code observe}: what is observed; null otherwise
 * @param label   for {@code observe}: the label of its lines ("after the crash"); never null for observe
 */
public record Step(int line, Verb verb, List<String> args, List<Step> body, ObservationKind kind, String label) {
    public Step {
        args = List.copyOf(args);
        body = List.copyOf(body);
    }

    public String arg(int i) { return args.get(i); }

    public int intArg(int i) { return Integer.parseInt(args.get(i)); }

    /** The step as it would be written. */
    @Override public String toString() {
        if (verb == Verb.OBSERVE) {
            return "observe " + kind.word() + (args.isEmpty() ? "" : " " + args.get(0)) + " as " + label;
        }
        return (verb.words() + " " + String.join(" ", args)).trim();
    }
}
