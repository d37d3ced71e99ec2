package org.jbtrfs.differential.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jbtrfs.differential.QuotaFacts;
import org.jbtrfs.differential.RootTreeFacts;
import org.junit.jupiter.api.Test;

/** Parsing what btrfs-progs 6.2 prints (samples taken from this machine's 6.18 kernel). */
class ProgsOutputTest {
    private static final String ROOT = String.join("\n",
        "btrfs-progs v6.2",
        "root tree",
        "leaf 30670848 items 13 free space 12220 generation 7 owner ROOT_TREE",
        "\titem 0 key (EXTENT_TREE ROOT_ITEM 0) itemoff 15844 itemsize 439",
        "\t\tgeneration 7 root_dirid 0 bytenr 30605312 byte_limit 0 bytes_used 16384",
        "\t\tlast_snapshot 0 flags 0x0(none) refs 1",
        "\t\tdrop_progress key (0 UNKNOWN.0 0) drop_level 0",
        "\titem 3 key (FS_TREE ROOT_ITEM 0) itemoff 14949 itemsize 439",
        "\t\tgeneration 7 root_dirid 256 bytenr 30638080 byte_limit 0 bytes_used 16384",
        "\t\tlast_snapshot 0 flags 0x0(none) refs 1",
        "\t\tdrop_progress key (0 UNKNOWN.0 0) drop_level 0",
        "\titem 10 key (256 ROOT_ITEM 0) itemoff 12984 itemsize 439",
        "\t\tgeneration 7 root_dirid 256 bytenr 30654464 byte_limit 0 bytes_used 16384",
        "\t\tlast_snapshot 0 flags 0x1000000000000(none) refs 0",
        "\t\tdrop_progress key (0 UNKNOWN.0 0) drop_level 0",
        "\titem 11 key (257 ROOT_ITEM 0) itemoff 12545 itemsize 439",
        "\t\tgeneration 9 root_dirid 256 bytenr 30670848 byte_limit 0 bytes_used 16384",
        "\t\tlast_snapshot 0 flags 0x1000000000000(none) refs 0",
        "\t\tdrop_progress key (258 EXTENT_DATA 0) drop_level 1",
        "\titem 12 key (ORPHAN ORPHAN_ITEM 256) itemoff 12545 itemsize 0",
        "\t\torphan item",
        "\titem 13 key (DATA_RELOC_TREE ROOT_ITEM 0) itemoff 12106 itemsize 439",
        "\t\tlast_snapshot 0 flags 0x0(none) refs 1",
        "\t\tdrop_progress key (0 UNKNOWN.0 0) drop_level 0",
        "");

    @Test
    void rootTreeSubvolumesAndOrphans() {
        RootTreeFacts f = ProgsOutput.rootTree(ROOT);
        assertEquals(Map.of(5L, new RootTreeFacts.Root(1, false), 256L, new RootTreeFacts.Root(0, false),
            257L, new RootTreeFacts.Root(0, true)), f.roots());
        assertEquals(Set.of(256L), f.orphans());
    }

    @Test
    void quotaTreeStatusNumbersAndCheckReport() {
        String dump = String.join("\n",
            "quota tree key (QUOTA_TREE ROOT_ITEM 0) ",
            "\titem 0 key (0 QGROUP_STATUS 0) itemoff 16243 itemsize 40",
            "\t\tversion 1 generation 10 flags ON|SCANNING|INCONSISTENT scan 1234",
            "\titem 1 key (0 QGROUP_INFO 0/5) itemoff 16203 itemsize 40",
            "\t\tgeneration 9",
            "\t\treferenced 16384 referenced_compressed 16384",
            "\t\texclusive 16384 exclusive_compressed 16384",
            "\titem 2 key (0 QGROUP_INFO 0/257) itemoff 16163 itemsize 40",
            "\t\tgeneration 9",
            "\t\treferenced 278528 referenced_compressed 278528",
            "\t\texclusive 278528 exclusive_compressed 278528",
            "\titem 3 key (0 QGROUP_LIMIT 0/5) itemoff 16123 itemsize 40",
            "\t\tflags 0", "");
        String check = String.join("\n",
            "Print quota groups for img",
            "Counts for qgroup id: 0/5 ",
            "our:\t\treferenced 16384 referenced compressed 16384",
            "disk:\t\treferenced 16384 referenced compressed 16384",
            "our:\t\texclusive 16384 exclusive compressed 16384",
            "disk:\t\texclusive 16384 exclusive compressed 16384",
            "Counts for qgroup id: 0/257 are different",
            "our:\t\treferenced 278528 referenced compressed 278528",
            "disk:\t\treferenced 16384 referenced compressed 16384",
            "our:\t\texclusive 278528 exclusive compressed 278528",
            "disk:\t\texclusive 16384 exclusive compressed 16384", "");
        QuotaFacts q = ProgsOutput.quota(dump, check);
        assertEquals("ON|RESCAN|INCONSISTENT", q.status(), "progs' SCANNING is the RESCAN flag");
        assertEquals(Map.of(5L, new QuotaFacts.Numbers(16384, 16384), 257L, new QuotaFacts.Numbers(278528, 278528)), q.qgroups());
        assertEquals(Map.of(5L, true, 257L, false), q.consistent());
        assertEquals(Map.of(), ProgsOutput.quota(dump, null).consistent(), "mounted: no recount");
        assertNull(ProgsOutput.quota("root tree\n", null).status(), "no quota tree");
    }

    @Test
    void rescanStatus() {
        assertTrue(ProgsOutput.rescanRunning("rescan operation running (current key 30408704)\n"));
        assertFalse(ProgsOutput.rescanRunning("no rescan operation in progress\n"));
    }

    @Test
    void kmsgRecordsAndDeviceTags() {
        assertEquals(new Kmsg.Record(1234, "BTRFS info (device loop1 state M): qgroup scan paused"),
            Kmsg.parse("6,1234,5678901,-;BTRFS info (device loop1 state M): qgroup scan paused\n SUBSYSTEM=block\n"));
        assertNull(Kmsg.parse("garbage"));
        assertEquals("loop1", KernelTarget.deviceTag("BTRFS info (device loop1 state M): qgroup scan paused"));
        assertEquals("loop12", KernelTarget.deviceTag("BTRFS info (device loop12): first mount of filesystem x"));
        assertNull(KernelTarget.deviceTag("WARNING: CPU: 1 PID: 2 at fs/btrfs/block-group.c:4321 btrfs_free_block_groups"));
        assertTrue(KernelTarget.isProblem("WARNING: CPU: 1 PID: 2 at fs/btrfs/block-group.c:4321 btrfs_free_block_groups"));
        assertFalse(KernelTarget.isProblem("BTRFS info (device loop1): qgroup scan completed"));
    }

    @Test
    void mountFlags() {
        assertEquals(new KernelTarget.MountFlags(true, "commit=5"), KernelTarget.MountFlags.parse("ro,commit=5", false));
        assertEquals(new KernelTarget.MountFlags(false, ""), KernelTarget.MountFlags.parse("ro,rw", false));
        assertEquals(new KernelTarget.MountFlags(false, ""), KernelTarget.MountFlags.parse("", false));
        assertEquals(List.of(), List.of());
    }
}
