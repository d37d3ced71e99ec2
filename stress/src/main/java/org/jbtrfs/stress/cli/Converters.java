package org.jbtrfs.stress.cli;

import java.util.Locale;
import java.util.Set;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.KernelVersion;
import org.jbtrfs.stress.ReplayToken;
import org.jbtrfs.stress.Seeds;
import org.jbtrfs.stress.Shard;
import org.jbtrfs.stress.StressOptions;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** The CLI's value types: each turns a bad value into picocli's one-line usage error (exit 2). */
final class Converters {
    private Converters() { }

    /** A converter whose parser says what is wrong with an IllegalArgumentException: that message is the usage error. */
    abstract static class Parsed<T> implements ITypeConverter<T> {
        abstract T parse(String v);

        @Override
        public final T convert(String v) {
            try {
                return parse(v);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    /** Seconds, a non-negative finite number. */
    static final class Seconds implements ITypeConverter<Double> {
        @Override
        public Double convert(String v) {
            double d;
            try {
                d = Double.parseDouble(v);
            } catch (NumberFormatException e) {
                throw new TypeConversionException("must be a number of seconds, not '" + v + "'");
            }
            if (!(d >= 0) || Double.isInfinite(d)) {
                throw new TypeConversionException("must not be negative: " + v);
            }
            return d;
        }
    }

    /** A run seed, decimal or 0x-hex. */
    static final class Seed implements ITypeConverter<Long> {
        @Override
        public Long convert(String v) {
            try {
                return Seeds.parse(v);
            } catch (NumberFormatException e) {
                throw new TypeConversionException("must be a number, decimal or 0x-hex, not '" + v + "'");
            }
        }
    }

    /** A list of fix switches (a value of its own: picocli would take a Set for a repeated option). */
    record SwitchSet(Set<FixSwitch> value) { }

    /** A list of lanes. */
    record LaneList(java.util.List<String> value) { }

    /** A list of fault-injection sites. */
    record FaultSet(Set<org.jbtrfs.core.Fault> value) { }

    /** A list of fix switches, or all, or none. */
    static final class Switches extends Parsed<SwitchSet> {
        @Override
        SwitchSet parse(String v) { return new SwitchSet(StressOptions.switches(v)); }
    }

    static final class Crc implements ITypeConverter<Crc32cImpl> {
        @Override
        public Crc32cImpl convert(String v) {
            return switch (v.toLowerCase(Locale.ROOT)) {
                case "generic" -> Crc32cImpl.GENERIC;
                case "accelerated" -> Crc32cImpl.ACCELERATED;
                default -> throw new TypeConversionException("must be generic or accelerated, not '" + v + "'");
            };
        }
    }

    static final class Latency implements ITypeConverter<org.jbtrfs.core.LatencyModel> {
        @Override
        public org.jbtrfs.core.LatencyModel convert(String v) {
            try {
                return org.jbtrfs.core.LatencyModel.parse(v);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    static final class Workload implements ITypeConverter<StressOptions.Workload> {
        @Override
        public StressOptions.Workload convert(String v) {
            for (StressOptions.Workload w : StressOptions.Workload.values()) {
                if (w.label().equals(v.toLowerCase(Locale.ROOT))) {
                    return w;
                }
            }
            throw new TypeConversionException("must be lanes, full or minimal, not '" + v + "'");
        }
    }

    static final class Kernel extends Parsed<KernelVersion> {
        @Override
        KernelVersion parse(String v) { return KernelVersion.parse(v); }
    }

    static final class ShardOf extends Parsed<Shard> {
        @Override
        Shard parse(String v) { return Shard.parse(v); }
    }

    static final class Token extends Parsed<ReplayToken> {
        @Override
        ReplayToken parse(String v) { return ReplayToken.parse(v); }
    }

    static final class Lanes extends Parsed<LaneList> {
        @Override
        LaneList parse(String v) { return new LaneList(StressOptions.lanes(v)); }
    }

    static final class Faults extends Parsed<FaultSet> {
        @Override
        FaultSet parse(String v) { return new FaultSet(StressOptions.faults(v)); }
    }
}
