package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The seed's symptoms of a transaction leaked past close_ctree, as the reproducers check them. */
final class SeedSymptoms {
    private SeedSymptoms() { }

    /** btrfs_free_block_groups' WARNINGs and the space_info dump (seed §11, items 1-3). */
    static void assertTeardownWarnings(Repro r) {
        String dmesg = r.mod.log().dmesg();
        assertTrue(r.logged("at fs/btrfs/block-group.c:125 btrfs_put_block_group"), dmesg);
        assertTrue(r.logged("at fs/btrfs/block-rsv.c:459 btrfs_release_global_block_rsv"), dmesg);
        assertTrue(r.logged("at fs/btrfs/block-group.c:3377 btrfs_free_block_groups"), dmesg);
        assertTrue(r.logged("BTRFS info (device sdc): space_info 4 has "), dmesg);
        assertTrue(r.logged("is not full"), dmesg);
        assertTrue(r.logged("pinned=0, reserved="), dmesg);
        assertTrue(r.logged("delayed_refs_rsv: size "), dmesg);
    }

    /** rmmod's reports (seed §11, item 5). */
    static void assertSlabLeaks(UnloadReport rep) {
        assertTrue(rep.remaining("btrfs_delayed_ref_head") > 0, rep.toString());
        assertTrue(rep.remaining("btrfs_delayed_tree_ref") > 0, rep.toString());
        assertTrue(rep.remaining("btrfs_delayed_extent_op") > 0, rep.toString());
        assertTrue(!rep.stateLeaks().isEmpty(), "BTRFS: state leak");
        assertTrue(rep.log().stream().anyMatch(e -> e.message().contains(
            "Objects remaining in btrfs_delayed_ref_head on __kmem_cache_shutdown()")));
    }
}
