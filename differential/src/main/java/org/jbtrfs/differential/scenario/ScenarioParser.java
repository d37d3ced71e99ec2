package org.jbtrfs.differential.scenario;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Parses the scenario language: one statement per line, {@code #} starts a comment.
 *
 * <pre>
 * scenario NAME
 * description TEXT            (may repeat: the lines are joined)
 * param NAME DEFAULT          (used as ${NAME}; overridable from the command line)
 * expect KEY-GLOB -- REASON   (rows matching KEY-GLOB may differ, for REASON)
 * STEP ARGS...                (see {@link Verb})
 * </pre>
 *
 * <p>Everything is checked before anything runs — unknown steps, options and parameters, bad sizes and
 * counts, and the order of the lifecycle (a step that needs a mount when nothing is mounted, a handle
 * closed that was never opened, {@code recover} while mounted, an unbalanced {@code repeat}) — so a
 * scenario that would misuse the kernel fails with a clear message naming the line, never halfway.
 */
public final class ScenarioParser {
    private static final Pattern PARAM_REF = Pattern.compile("\\$\\{([A-Za-z][A-Za-z0-9_-]*)}");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
    private static final Pattern PATH = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?");
    private static final long MAX_SIZE = 64L << 30;
    private static final long MIN_SIZE = 128L << 20;
    private static final int MAX_COUNT = 10_000_000;

    private final String source;
    private final Map<String, String> overrides;

    private ScenarioParser(String source, Map<String, String> overrides) {
        this.source = source;
        this.overrides = overrides;
    }

    /** Parses {@code text} (named {@code source} in messages) with parameter {@code overrides}. */
    public static Scenario parse(String source, String text, Map<String, String> overrides) {
        return new ScenarioParser(source, Map.copyOf(overrides)).parse(text);
    }

    public static Scenario parse(String source, String text) { return parse(source, text, Map.of()); }

    private Scenario parse(String text) {
        String name = null;
        StringBuilder description = new StringBuilder();
        Map<String, String> params = new LinkedHashMap<>();
        List<Expectation> expectations = new ArrayList<>();
        Deque<List<Step>> blocks = new ArrayDeque<>();
        Deque<Integer> repeatLines = new ArrayDeque<>();
        Deque<List<String>> repeatArgs = new ArrayDeque<>();
        blocks.push(new ArrayList<>());
        int observations = 0;
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            int ln = i + 1;
            String line = stripComment(lines[i]).strip();
            if (line.isEmpty()) {
                continue;
            }
            List<String> tokens = List.of(line.split("\\s+"));
            switch (tokens.get(0)) {
                case "scenario" -> {
                    if (tokens.size() != 2 || !NAME.matcher(tokens.get(1)).matches()) {
                        throw err(ln, "expected 'scenario NAME' (letters, digits, '.', '_', '-')");
                    }
                    if (name != null) {
                        throw err(ln, "a second 'scenario' line");
                    }
                    name = tokens.get(1);
                    continue;
                }
                case "description" -> {
                    description.append(description.length() > 0 ? " " : "").append(line.substring("description".length()).strip());
                    continue;
                }
                case "param" -> {
                    if (tokens.size() != 3 || !NAME.matcher(tokens.get(1)).matches()) {
                        throw err(ln, "expected 'param NAME DEFAULT'");
                    }
                    if (params.containsKey(tokens.get(1))) {
                        throw err(ln, "parameter '" + tokens.get(1) + "' declared twice");
                    }
                    params.put(tokens.get(1), overrides.getOrDefault(tokens.get(1), tokens.get(2)));
                    continue;
                }
                case "expect" -> {
                    expectations.add(expectation(line, ln));
                    continue;
                }
                default -> { }
            }
            List<String> subst = new ArrayList<>();
            for (String t : tokens) {
                subst.add(substitute(t, params, ln));
            }
            Verb verb = Verb.match(subst);
            if (verb == null) {
                throw err(ln, "unknown step '" + tokens.get(0) + (tokens.size() > 1 ? " " + tokens.get(1) : "") + "'; steps are: "
                    + Verb.all());
            }
            List<String> args = subst.subList(verb.wordCount(), subst.size());
            if (verb == Verb.END) {
                if (!args.isEmpty()) {
                    throw err(ln, "'end' takes no arguments");
                }
                if (repeatLines.isEmpty()) {
                    throw err(ln, "'end' without 'repeat'");
                }
                List<Step> body = blocks.pop();
                if (body.isEmpty()) {
                    throw err(ln, "empty repeat");
                }
                blocks.peek().add(new Step(repeatLines.pop(), Verb.REPEAT, repeatArgs.pop(), body, null, null));
                continue;
            }
            if (args.size() < verb.minArgs() || args.size() > verb.maxArgs()) {
                throw err(ln, "'" + verb.words() + "' takes " + (verb.usage().equals(verb.words()) ? "no arguments" : "arguments: " + verb.usage()));
            }
            if (verb == Verb.REPEAT) {
                if (!repeatLines.isEmpty()) {
                    throw err(ln, "nested 'repeat' is not supported");
                }
                count(args.get(0), ln);
                repeatLines.push(ln);
                repeatArgs.push(List.copyOf(args));
                blocks.push(new ArrayList<>());
                continue;
            }
            if (verb == Verb.OBSERVE) {
                blocks.peek().add(observe(args, ln, ++observations));
                continue;
            }
            checkArgs(verb, args, ln);
            blocks.peek().add(new Step(ln, verb, args, List.of(), null, null));
        }
        if (!repeatLines.isEmpty()) {
            throw err(repeatLines.peek(), "'repeat' without 'end'");
        }
        if (name == null) {
            throw new ScenarioException(source + ": no 'scenario NAME' line");
        }
        for (String o : overrides.keySet()) {
            if (!params.containsKey(o)) {
                throw new ScenarioException(source + ": unknown parameter '" + o + "'" + (params.isEmpty() ? " (it has none)"
                    : "; its parameters are: " + String.join(", ", params.keySet())));
            }
        }
        List<Step> steps = blocks.pop();
        new Lifecycle().check(steps);
        return new Scenario(name, substitute(description.toString(), params, 0), params, steps, expectations);
    }

    /** {@code expect KEY-GLOB [when KERNEL-GLOB vs PORT-GLOB] -- REASON}. */
    private Expectation expectation(String line, int ln) {
        int sep = line.indexOf(" -- ");
        String usage = "expected 'expect KEY-GLOB [when KERNEL-GLOB vs PORT-GLOB] -- REASON'";
        if (sep < 0 || line.substring(sep + 4).isBlank()) {
            throw err(ln, usage);
        }
        String what = line.substring("expect".length(), sep).strip();
        String reason = line.substring(sep + 4).strip();
        int when = what.indexOf(" when ");
        if (when < 0) {
            if (what.isEmpty()) {
                throw err(ln, usage);
            }
            return new Expectation(what, reason);
        }
        String key = what.substring(0, when).strip();
        String[] values = what.substring(when + 6).split(" vs ", -1);
        if (key.isEmpty() || values.length != 2 || values[0].isBlank() || values[1].isBlank()) {
            throw err(ln, usage);
        }
        return new Expectation(key, values[0].strip(), values[1].strip(), reason);
    }

    private static String stripComment(String line) {
        int hash = line.indexOf('#');
        // a '#' inside an observe pattern /.../ is part of the pattern
        int slash = line.indexOf('/');
        if (hash > slash && slash >= 0 && line.lastIndexOf('/') > hash) {
            return line;
        }
        return hash < 0 ? line : line.substring(0, hash);
    }

    private String substitute(String token, Map<String, String> params, int ln) {
        Matcher m = PARAM_REF.matcher(token);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            String v = params.get(m.group(1));
            if (v == null) {
                throw err(ln, "unknown parameter ${" + m.group(1) + "} (declare it with 'param " + m.group(1) + " DEFAULT' first)");
            }
            m.appendReplacement(sb, Matcher.quoteReplacement(v));
        }
        m.appendTail(sb);
        return sb.toString();
    }

    private Step observe(List<String> args, int ln, int index) {
        ObservationKind kind = ObservationKind.parse(args.get(0));
        if (kind == null) {
            throw err(ln, "unknown observation '" + args.get(0) + "'; observations are: " + ObservationKind.all());
        }
        List<String> rest = new ArrayList<>(args.subList(1, args.size()));
        String label = "#" + index + " " + kind.word();
        int as = rest.indexOf("as");
        if (as >= 0) {
            if (as == rest.size() - 1) {
                throw err(ln, "'as' needs a label");
            }
            label = String.join(" ", rest.subList(as + 1, rest.size()));
            rest = new ArrayList<>(rest.subList(0, as));
        }
        List<String> kindArgs = new ArrayList<>();
        if (kind.needsArg()) {
            String joined = String.join(" ", rest);
            if (joined.length() < 3 || !joined.startsWith("/") || !joined.endsWith("/")) {
                throw err(ln, "'observe " + kind.word() + "' needs a /REGEX/");
            }
            String re = joined.substring(1, joined.length() - 1);
            try {
                Pattern.compile(re);
            } catch (PatternSyntaxException e) {
                throw err(ln, "bad regex /" + re + "/: " + e.getDescription());
            }
            kindArgs.add(re);
        } else if (!rest.isEmpty()) {
            throw err(ln, "'observe " + kind.word() + "' takes no argument (got '" + String.join(" ", rest) + "')");
        }
        return new Step(ln, Verb.OBSERVE, kindArgs, List.of(), kind, label);
    }

    private void checkArgs(Verb verb, List<String> args, int ln) {
        switch (verb) {
            case MKFS -> size(args.get(0), ln);
            case MOUNT -> {
                if (!args.isEmpty()) {
                    options(args.get(0), ln);
                }
            }
            case REMOUNT -> options(args.get(0), ln);
            case SUBVOLUME_CREATE, SUBVOLUME_DELETE -> name(args.get(0), "subvolume name", ln);
            case CREATE, UNLINK -> path(args.get(0), ln);
            case WRITE -> {
                path(args.get(0), ln);
                if (count(args.get(1), ln) > (128 << 20)) {
                    throw err(ln, "write of more than 128 MiB");
                }
            }
            case EXTENTS -> {
                path(args.get(0), ln);
                count(args.get(1), ln);
            }
            case FILES -> {
                name(args.get(0), "subvolume name", ln);
                count(args.get(1), ln);
            }
            case OPEN -> {
                name(args.get(0), "handle", ln);
                path(args.get(1), ln);
            }
            case CLOSE -> name(args.get(0), "handle", ln);
            case LIFECYCLE_LATENCY, MINIMAL_CYCLES -> count(args.get(0), ln);
            default -> { }
        }
    }

    /** Mount options the targets know: ro, rw, commit=N. Anything else is refused here, before any mount. */
    private void options(String opts, int ln) {
        for (String o : opts.split(",")) {
            if (o.equals("ro") || o.equals("rw")) {
                continue;
            }
            if (o.startsWith("commit=")) {
                try {
                    int n = Integer.parseInt(o.substring(7));
                    if (n >= 0 && n <= 300) {
                        continue;
                    }
                } catch (NumberFormatException ignored) {
                    // reported below
                }
                throw err(ln, "bad mount option '" + o + "' (commit=N with N in 0..300)");
            }
            throw err(ln, "unknown mount option '" + o + "'; known: ro, rw, commit=N");
        }
    }

    /** A size as the language writes it ("256M", "4G", "1073741824") in bytes; IllegalArgumentException if malformed. */
    public static long sizeOf(String s) {
        long v = parseSize(s);
        if (v <= 0) {
            throw new IllegalArgumentException("bad size '" + s + "'");
        }
        return v;
    }

    /** "256M", "4G", "1073741824" → bytes, or -1. */
    static long parseSize(String s) {
        String t = s.toUpperCase(Locale.ROOT);
        long mul = 1;
        if (t.endsWith("K") || t.endsWith("M") || t.endsWith("G")) {
            mul = t.endsWith("K") ? 1L << 10 : t.endsWith("M") ? 1L << 20 : 1L << 30;
            t = t.substring(0, t.length() - 1);
        }
        try {
            long v = Long.parseLong(t);
            if (v <= 0 || v > MAX_SIZE / mul) {
                return -1;
            }
            return v * mul;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private void size(String s, int ln) {
        long v = parseSize(s);
        if (v < MIN_SIZE || v > MAX_SIZE || v % 4096 != 0) {
            throw err(ln, "bad size '" + s + "' (128M .. 64G, a multiple of 4K; suffixes K, M, G)");
        }
    }

    private int count(String s, int ln) {
        try {
            int n = Integer.parseInt(s);
            if (n > 0 && n <= MAX_COUNT) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw err(ln, "bad count '" + s + "' (1 .. " + MAX_COUNT + ")");
    }

    private void name(String s, String what, int ln) {
        if (!NAME.matcher(s).matches()) {
            throw err(ln, "bad " + what + " '" + s + "'");
        }
    }

    private void path(String s, int ln) {
        if (!PATH.matcher(s).matches() || s.contains("..")) {
            throw err(ln, "bad path '" + s + "' (NAME or SUBVOLUME/NAME)");
        }
    }

    private ScenarioException err(int ln, String msg) { return ScenarioException.at(source, ln, msg); }

    /** Walks the steps with the lifecycle state a target would have, refusing what no target can do. */
    private final class Lifecycle {
        boolean formatted;
        boolean mounted;
        boolean ro;
        boolean crashed;
        boolean frozen;
        final Set<String> handles = new HashSet<>();

        void check(List<Step> steps) {
            for (Step s : steps) {
                if (s.verb() == Verb.REPEAT) {
                    String before = state();
                    check(s.body());
                    if (!before.equals(state())) {
                        throw err(s.line(), "a repeat body must end in the state it starts in (" + before + " before, "
                            + state() + " after)");
                    }
                    continue;
                }
                step(s);
            }
        }

        private String state() {
            return (mounted ? (ro ? "mounted ro" : "mounted rw") : "not mounted") + (handles.isEmpty() ? "" : ", open " + handles)
                + (crashed ? ", crashed" : "") + (frozen ? ", frozen" : "");
        }

        private void step(Step s) {
            int ln = s.line();
            switch (s.verb()) {
                case MKFS -> {
                    if (mounted) {
                        throw err(ln, "mkfs while mounted");
                    }
                    formatted = true;
                    crashed = false;
                }
                case MOUNT -> {
                    if (!formatted) {
                        throw err(ln, "mount before mkfs");
                    }
                    if (mounted) {
                        throw err(ln, "already mounted");
                    }
                    mounted = true;
                    ro = !s.args().isEmpty() && lastRoRw(s.arg(0), false);
                }
                case REMOUNT -> {
                    needMount(ln);
                    if (frozen) {
                        throw err(ln, "remount while frozen (thaw first: the remount would fail with EBUSY)");
                    }
                    // an open file does not block an RO remount (only an unlinked, still open one would: EBUSY)
                    ro = lastRoRw(s.arg(0), ro);
                }
                case UMOUNT -> {
                    needMount(ln);
                    if (frozen) {
                        throw err(ln, "umount while frozen (thaw first: the superblock would stay, frozen, after it)");
                    }
                    if (!handles.isEmpty()) {
                        throw err(ln, "umount with open handles " + handles + " (close them first: umount would fail with EBUSY)");
                    }
                    mounted = false;
                }
                case SUBVOLUME_CREATE, SUBVOLUME_DELETE, CREATE, UNLINK, WRITE, EXTENTS, FILES, QUOTA_ENABLE, QUOTA_RESCAN -> needRw(ln, s);
                case SUBVOLUME_SYNC, FS_SYNC -> needRw(ln, s);
                case SYNC, QUOTA_RESCAN_WAIT -> needMount(ln);
                case OPEN -> {
                    needMount(ln);
                    if (!handles.add(s.arg(0))) {
                        throw err(ln, "handle '" + s.arg(0) + "' is already open");
                    }
                }
                case CLOSE -> {
                    if (!handles.remove(s.arg(0))) {
                        throw err(ln, "handle '" + s.arg(0) + "' is not open");
                    }
                }
                case FREEZE -> {
                    needMount(ln);
                    if (frozen) {
                        throw err(ln, "already frozen");
                    }
                    frozen = true;
                }
                case THAW -> {
                    needMount(ln);
                    if (!frozen) {
                        throw err(ln, "thaw without freeze");
                    }
                    frozen = false;
                }
                case CRASH -> {
                    if (!formatted || crashed) {
                        throw err(ln, crashed ? "already crashed" : "crash before mkfs");
                    }
                    crashed = true;
                }
                case RECOVER -> {
                    if (!crashed) {
                        throw err(ln, "recover without crash");
                    }
                    if (mounted) {
                        throw err(ln, "recover while mounted (umount first)");
                    }
                    crashed = false;
                }
                case LIFECYCLE_LATENCY, MINIMAL_CYCLES -> {
                    if (!formatted || mounted || crashed) {
                        throw err(ln, "'" + s.verb().words() + "' needs a formatted device, not mounted, not crashed");
                    }
                }
                case OBSERVE -> {
                    if (s.kind() == ObservationKind.RESCAN) {
                        needMount(ln);
                    }
                }
                default -> throw new IllegalStateException("unhandled " + s.verb());
            }
        }

        private boolean lastRoRw(String opts, boolean current) {
            boolean r = current;
            for (String o : opts.split(",")) {
                if (o.equals("ro")) {
                    r = true;
                } else if (o.equals("rw")) {
                    r = false;
                }
            }
            return r;
        }

        private void needMount(int ln) {
            if (!mounted) {
                throw err(ln, "nothing is mounted");
            }
        }

        private void needRw(int ln, Step s) {
            needMount(ln);
            if (ro) {
                throw err(ln, "'" + s.verb().words() + "' on a read-only mount");
            }
            if (frozen) {
                throw err(ln, "'" + s.verb().words() + "' while frozen (it would wait for a thaw that never comes)");
            }
        }
    }
}
