package org.jbtrfs.core.kernel;

/** Three flag bits for the FlagWord tests (two on one wait queue, one on its own). */
enum Bit { A, B, C }
