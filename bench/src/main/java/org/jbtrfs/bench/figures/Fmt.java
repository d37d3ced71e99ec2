package org.jbtrfs.bench.figures;

import java.util.Locale;

/** How every number in the generated files is printed: three significant digits, no false precision. */
final class Fmt {
    private Fmt() { }

    /** {@code v} with three significant digits (integers of four or more digits grouped: 12,345). */
    static String num(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return "n/a";
        }
        double a = Math.abs(v);
        if (a >= 1000) {
            return String.format(Locale.ROOT, "%,.0f", v);
        }
        return String.format(Locale.ROOT, "%." + decimals(a) + "f", v);
    }

    /** {@code v ± err}, both with the decimals {@code v} gets; just {@code v} when there is no error. */
    static String pm(double v, double err) {
        if (Double.isNaN(err)) {
            return num(v);
        }
        double a = Math.abs(v);
        String e = a >= 1000 ? String.format(Locale.ROOT, "%,.0f", err)
            : String.format(Locale.ROOT, "%." + decimals(a) + "f", err);
        return num(v) + " ± " + e;
    }

    /** Millions, e.g. {@code 11.0 M}. */
    static String millions(double v) {
        return num(v / 1e6) + " M";
    }

    /** A ratio such as {@code 31x}. */
    static String times(double v) {
        return num(v) + "x";
    }

    /** JMH's unit with a real micro sign: {@code us/op} → {@code µs/op}. */
    static String unit(String jmhUnit) {
        return jmhUnit.replace("us/", "µs/");
    }

    private static int decimals(double a) {
        return a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
    }
}
