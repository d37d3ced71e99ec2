package org.jbtrfs.bench.figures;

import java.util.List;

/**
 * One part of the generated figures: a section of docs/benchmarks.md and the rows it adds to the
 * README figures table. Every number a section prints comes from {@link Inputs}, i.e. from the run
 * scripts/figures.sh just made. To add figures (the explorer's time-to-find, the differential
 * harness's kernel ratio), add a Section to {@link Figures#sections} or drop a script into
 * scripts/figures.d/ (see {@link ExternalSections}).
 */
interface Section {
    /** Markdown for docs/benchmarks.md, starting with a {@code ## } heading; empty for none. */
    String doc();

    /** Rows of the README figures table. */
    List<Row> rows();

    /** One row of the README figures table. */
    record Row(String what, String figure) { }
}
