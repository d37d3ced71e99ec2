package com.example.planted;

import org.jbtrfs.core.kernel.Kernel;

/** Planted violation of rule (c): a consumer naming the kernel machinery. */
final class PlantedConsumer {
    static String name(Kernel k) { return k.name(); }
}
