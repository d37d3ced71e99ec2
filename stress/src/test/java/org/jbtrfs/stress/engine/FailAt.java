package org.jbtrfs.stress.engine;

import java.util.Map;
import java.util.TreeMap;
import org.jbtrfs.stress.cli.StressMain;

/**
 * A test-only fault: cycles of filesystem 0 that fail whatever the timing, as if their workload had thrown
 * when it ended ({@link Driver#testFault}) — an IllegalStateException or an UnsupportedOperationException,
 * so two classes ({@code error:IllegalStateException@driver}, {@code error:UnsupportedOperationException@driver}).
 * As a main class it is the CLI with the fault installed from {@code -Djbtrfs.test.failAt=5:ise,20:uoe}
 * (ShardProcessTest runs shards as processes with it).
 */
public final class FailAt {
    private FailAt() { }

    /** "5:ise,20:uoe" as cycle -> kind. */
    public static Map<Long, String> parse(String spec) {
        Map<Long, String> m = new TreeMap<>();
        for (String p : spec.split(",")) {
            String[] kv = p.trim().split(":");
            m.put(Long.parseLong(kv[0]), kv[1]);
        }
        return m;
    }

    /** Installs the fault for {@code cycles} (null: none). */
    public static void install(Map<Long, String> cycles) {
        Driver.testFault = cycles == null ? null : (fs, c) -> {
            String kind = fs == 0 ? cycles.get(c) : null;
            if (kind == null) {
                return null;
            }
            return kind.equals("ise") ? new IllegalStateException("test fault at cycle " + c)
                : new UnsupportedOperationException("test fault at cycle " + c);
        };
    }

    public static void main(String[] args) {
        install(parse(System.getProperty("jbtrfs.test.failAt")));
        StressMain.main(args);
    }
}
