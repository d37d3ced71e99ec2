package org.jbtrfs.core;

/** Which crc32c driver a loaded module uses (a machine with or without SSE4.2 crc32 instructions). */
public enum Crc32cImpl {
    /** {@code java.util.zip.CRC32C}, which the JIT compiles to the CPU's crc32 instructions. */
    ACCELERATED,
    /** The table-driven software implementation in this module: no CSUM_IMPL_FAST. */
    GENERIC
}
