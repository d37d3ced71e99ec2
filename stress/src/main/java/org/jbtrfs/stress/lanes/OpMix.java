package org.jbtrfs.stress.lanes;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.jbtrfs.stress.Seeds;

/**
 * A lane's operation mix for one cycle: swarm testing (Groce, Zhang, Eide, Chen, Regehr, ISSTA 2012) — some cycles
 * leave some of a lane's operations out altogether, so the ones left run more often and nothing that would undo
 * them comes between: a quota lane that neither populates nor disables lines up its rescans with the lifecycle
 * lane's remounts far more often than one that does everything; a lifecycle lane that never unmounts remounts
 * twice as often. Which cycles and which operations is drawn from a stream of its own ({@code swarm:<lane>}), so
 * every other choice of a cycle stays what it was: a cycle without a swarm mix makes exactly the choices it made
 * before swarm testing existed, and its replay token still replays it.
 *
 * <p>A lane's step is a chain of tests of one uniform draw {@code u} against ascending bounds ({@code u < 0.22}:
 * create, {@code u < 0.34}: write, ...); {@link #remap} maps the draw uniformly onto the intervals of the
 * operations left in, in proportion to their widths, so their relative weights stay the lane's. An operation
 * whose precondition fails (nothing to close) falls through the chain as it always did.
 */
final class OpMix {
    /** The mix of a lane that does everything: {@link #remap} is the identity. */
    static final OpMix ALL = new OpMix(new double[] {1.0}, new boolean[] {true});

    private final double[] bounds;
    private final boolean[] in;
    /** Every operation is in: the draw is used as it is. */
    private final boolean all;
    /** The summed width of the intervals of the operations left in. */
    private final double width;

    private OpMix(double[] bounds, boolean[] in) {
        this.bounds = bounds;
        this.in = in;
        boolean every = true;
        double w = 0;
        double lo = 0;
        for (int i = 0; i < bounds.length; i++) {
            every &= in[i];
            w += in[i] ? bounds[i] - lo : 0;
            lo = bounds[i];
        }
        this.all = every;
        this.width = w;
    }

    /**
     * The mix of lane {@code lane} in the cycle of {@code cycleSeed}: with probability {@code swarm} a swarm mix
     * (each operation in with probability 1/2, at least one), else every operation.
     *
     * @param chain the upper bounds of the step's chain, ascending, the last 1.0 (the final else)
     * @throws IllegalArgumentException if {@code swarm} is not in [0, 1] or the chain is not ascending to 1.0
     */
    static OpMix of(String lane, long cycleSeed, double swarm, double... chain) {
        if (!(swarm >= 0 && swarm <= 1)) {
            throw new IllegalArgumentException("swarm probability " + swarm + " is not in [0, 1]");
        }
        check(chain);
        SplittableRandom r = Seeds.stream(cycleSeed, "swarm:" + lane);
        boolean[] in = new boolean[chain.length];
        if (r.nextDouble() >= swarm) {
            Arrays.fill(in, true);
            return new OpMix(chain, in);
        }
        boolean any = false;
        for (int i = 0; i < in.length; i++) {
            in[i] = r.nextBoolean();
            any |= in[i];
        }
        if (!any) {
            in[r.nextInt(in.length)] = true;
        }
        return new OpMix(chain, in);
    }

    private static void check(double[] chain) {
        double lo = 0;
        for (double b : chain) {
            if (!(b > lo && b <= 1)) {
                throw new IllegalArgumentException("chain " + Arrays.toString(chain) + " does not ascend within (0, 1]");
            }
            lo = b;
        }
        if (chain.length == 0 || chain[chain.length - 1] != 1.0) {
            throw new IllegalArgumentException("chain " + Arrays.toString(chain) + " does not end at 1.0");
        }
    }

    /** Whether every operation is in (the draw is used as it is). */
    boolean all() { return all; }

    /** Whether the {@code i}-th operation of the chain is in. */
    boolean has(int i) { return in[i]; }

    /**
     * The draw {@code u} (uniform in [0, 1)) mapped uniformly onto the intervals of the operations left in; the
     * identity when every operation is in.
     */
    double remap(double u) {
        if (all) {
            return u;
        }
        double x = u * width;
        double lo = 0;
        int last = -1;
        for (int i = 0; i < bounds.length; i++) {
            if (in[i]) {
                double w = bounds[i] - lo;
                if (x < w) {
                    return Math.min(lo + x, Math.nextDown(bounds[i])); // rounding: stay inside the interval
                }
                x -= w;
                last = i;
            }
            lo = bounds[i];
        }
        // rounding at the top: the last interval left in, just below its bound
        return Math.nextDown(bounds[last]);
    }

    @Override
    public String toString() {
        if (all) {
            return "all";
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < in.length; i++) {
            sb.append(in[i] ? '1' : '0');
        }
        return sb.toString();
    }
}
