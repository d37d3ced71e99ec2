package org.jbtrfs.stress.report;

import java.util.Locale;

/** A minimal JSON writer: objects, arrays, strings and numbers, pretty enough to read. */
final class Json {
    private final StringBuilder sb = new StringBuilder();
    private boolean first = true;
    private int depth;

    Json begin() { return open('{'); }

    Json end() { return close('}'); }

    Json beginArray() { return open('['); }

    Json endArray() { return close(']'); }

    private Json open(char c) {
        if (!sb.isEmpty() && !endsWithKey()) {
            comma();
        }
        sb.append(c);
        depth++;
        first = true;
        return this;
    }

    private Json close(char c) {
        depth--;
        if (!first) {
            sb.append('\n').append("  ".repeat(depth));
        }
        sb.append(c);
        first = false;
        return this;
    }

    private boolean endsWithKey() { return sb.length() >= 2 && sb.charAt(sb.length() - 1) == ' ' && sb.charAt(sb.length() - 2) == ':'; }

    private void comma() {
        if (!first) {
            sb.append(',');
        }
        sb.append('\n').append("  ".repeat(depth));
        first = false;
    }

    Json key(String k) {
        comma();
        string(k);
        sb.append(": ");
        return this;
    }

    Json field(String k, String v) {
        key(k);
        string(v);
        return this;
    }

    Json field(String k, long v) {
        key(k);
        sb.append(v);
        return this;
    }

    Json field(String k, double v) {
        key(k);
        sb.append(Double.isFinite(v) ? String.format(Locale.ROOT, "%.3f", v) : "null");
        return this;
    }

    Json value(String v) {
        comma();
        string(v);
        return this;
    }

    private void string(String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    @Override
    public String toString() { return sb.toString() + "\n"; }
}
