package org.jbtrfs.differential;

import java.util.Map;

/**
 * The quota tree on the device, as both targets can read it.
 *
 * @param status     the status item's flags as dump-tree prints them ("ON", "ON|RESCAN"), or null without a quota tree
 * @param qgroups    level-0 qgroup id → its numbers
 * @param consistent level-0 qgroup id → whether its numbers match a recount from the extent tree
 *                   ({@code btrfs check --qgroup-report} on the kernel); absent when the recount could not say
 */
public record QuotaFacts(String status, Map<Long, Numbers> qgroups, Map<Long, Boolean> consistent) {
    /** Referenced and exclusive bytes. */
    public record Numbers(long rfer, long excl) { }

    public QuotaFacts {
        qgroups = Map.copyOf(qgroups);
        consistent = Map.copyOf(consistent);
    }
}
