package org.jbtrfs.differential.kernel;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jbtrfs.differential.QuotaFacts;
import org.jbtrfs.differential.RootTreeFacts;

/**
 * Parses btrfs-progs output into the facts both targets produce: {@code btrfs inspect-internal dump-tree
 * -t root} and {@code -t quota}, and {@code btrfs check --qgroup-report}.
 */
public final class ProgsOutput {
    private static final Pattern ITEM = Pattern.compile("^\\titem \\d+ key \\((\\S+) (\\S+) (\\S+)\\) itemoff \\d+ itemsize \\d+$");
    private static final Pattern REFS = Pattern.compile("\\brefs (\\d+)");
    private static final Pattern DROP = Pattern.compile("drop_progress key \\((\\S+) (\\S+) (\\S+)\\)");
    private static final Pattern STATUS = Pattern.compile("\\bflags (\\S+) scan");
    private static final Pattern RFER = Pattern.compile("^\\s*referenced (\\d+) referenced_compressed");
    private static final Pattern EXCL = Pattern.compile("^\\s*exclusive (\\d+) exclusive_compressed");
    private static final Pattern COUNTS = Pattern.compile("^Counts for qgroup id: (\\d+)/(\\d+)(.*)$");
    private static final Pattern OUR_DISK = Pattern.compile("^(our|disk):\\s+(referenced|exclusive) (\\d+) ");

    private ProgsOutput() { }

    /** Subvolume root items and orphan items from {@code dump-tree -t root}. */
    public static RootTreeFacts rootTree(String text) {
        Map<Long, RootTreeFacts.Root> roots = new LinkedHashMap<>();
        Set<Long> orphans = new HashSet<>();
        Long current = null;
        Integer refs = null;
        for (String line : text.split("\n")) {
            Matcher m = ITEM.matcher(line);
            if (m.matches()) {
                current = null;
                refs = null;
                Long id = objectid(m.group(1));
                if (m.group(2).equals("ROOT_ITEM") && id != null && m.group(3).equals("0") && isSubvolume(id)) {
                    current = id;
                } else if (m.group(2).equals("ORPHAN_ITEM") && m.group(1).equals("ORPHAN")) {
                    orphans.add(Long.parseUnsignedLong(m.group(3)));
                }
                continue;
            }
            if (current == null) {
                continue;
            }
            Matcher r = REFS.matcher(line);
            if (line.contains("last_snapshot") && r.find()) {
                refs = Integer.valueOf(r.group(1));
            }
            Matcher d = DROP.matcher(line);
            if (d.find() && refs != null) {
                boolean set = !(d.group(1).equals("0") && d.group(2).equals("UNKNOWN.0") && d.group(3).equals("0"));
                roots.put(current, new RootTreeFacts.Root(refs, set));
                current = null;
            }
        }
        return new RootTreeFacts(roots, orphans);
    }

    /**
     * The quota tree from {@code dump-tree -t quota} (status flags, level-0 qgroup numbers) and, when
     * {@code check} is not null, consistency from {@code btrfs check --qgroup-report}.
     */
    public static QuotaFacts quota(String dump, String check) {
        if (!dump.contains("QGROUP_STATUS")) {
            return new QuotaFacts(null, Map.of(), Map.of());
        }
        String status = "no status item";
        Map<Long, QuotaFacts.Numbers> numbers = new LinkedHashMap<>();
        String kind = null;
        long id = -1;
        long rfer = -1;
        for (String line : dump.split("\n")) {
            Matcher m = ITEM.matcher(line);
            if (m.matches()) {
                kind = m.group(2);
                id = -1;
                if (kind.equals("QGROUP_INFO") && m.group(3).startsWith("0/")) {
                    id = Long.parseLong(m.group(3).substring(2));
                }
                continue;
            }
            if ("QGROUP_STATUS".equals(kind)) {
                Matcher s = STATUS.matcher(line);
                if (s.find()) {
                    // btrfs-progs prints BTRFS_QGROUP_STATUS_FLAG_RESCAN as "SCANNING"; dump-tree's other name for it
                    status = s.group(1).replace("SCANNING", "RESCAN");
                }
            } else if ("QGROUP_INFO".equals(kind) && id >= 0) {
                Matcher r = RFER.matcher(line);
                if (r.find()) {
                    rfer = Long.parseLong(r.group(1));
                }
                Matcher e = EXCL.matcher(line);
                if (e.find() && rfer >= 0) {
                    numbers.put(id, new QuotaFacts.Numbers(rfer, Long.parseLong(e.group(1))));
                    rfer = -1;
                }
            }
        }
        return new QuotaFacts(status, numbers, check == null ? Map.of() : qgroupReport(check));
    }

    /** From {@code btrfs check --qgroup-report}: each level-0 qgroup whose "our" (recount) and "disk" numbers were printed. */
    static Map<Long, Boolean> qgroupReport(String text) {
        Map<Long, Boolean> out = new LinkedHashMap<>();
        Long id = null;
        Map<String, Long> seen = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            Matcher c = COUNTS.matcher(line);
            if (c.matches()) {
                flush(out, id, seen);
                id = c.group(1).equals("0") ? Long.valueOf(c.group(2)) : null;
                seen.clear();
                continue;
            }
            Matcher od = OUR_DISK.matcher(line.strip());
            if (id != null && od.find()) {
                seen.put(od.group(1) + " " + od.group(2), Long.valueOf(od.group(3)));
            }
        }
        flush(out, id, seen);
        return out;
    }

    private static void flush(Map<Long, Boolean> out, Long id, Map<String, Long> seen) {
        if (id == null || seen.size() < 4) {
            return;
        }
        out.put(id, seen.get("our referenced").equals(seen.get("disk referenced"))
            && seen.get("our exclusive").equals(seen.get("disk exclusive")));
    }

    /** dump-tree's objectid names back to numbers (only the ones a subvolume or orphan key can carry). */
    static Long objectid(String s) {
        return switch (s) {
            case "FS_TREE" -> 5L;
            case "ROOT_TREE" -> 1L;
            case "EXTENT_TREE" -> 2L;
            default -> {
                try {
                    yield Long.parseUnsignedLong(s);
                } catch (NumberFormatException e) {
                    yield null;
                }
            }
        };
    }

    private static boolean isSubvolume(long id) {
        return id == 5 || Long.compareUnsigned(id, 256) >= 0 && Long.compareUnsigned(id, -256L) <= 0;
    }

    /** {@code btrfs quota rescan -s}: "rescan operation running (current key N)" vs "no rescan operation in progress". */
    public static boolean rescanRunning(String text) {
        return text.contains("rescan operation running");
    }
}
