package org.jbtrfs.differential;

/**
 * One row of the side-by-side table.
 *
 * @param key     the observation
 * @param kernel  the kernel's value ("—" when it has no such line)
 * @param port    the port's value ("—" when it has no such line)
 * @param verdict how they compare
 * @param reason  why they may differ (from the scenario), the ratio of a measurement, or why one side cannot observe it; "" if none
 */
public record Row(String key, String kernel, String port, Verdict verdict, String reason) { }
