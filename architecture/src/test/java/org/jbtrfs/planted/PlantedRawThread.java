package org.jbtrfs.planted;

import java.util.concurrent.CompletableFuture;

/** Planted violation of the tests' thread rule: a raw thread and a common-pool task (never run: the rules only read it). */
final class PlantedRawThread {
    private PlantedRawThread() { }

    static void race(Runnable op) {
        new Thread(op, "other side").start();
        CompletableFuture.runAsync(op).join();
    }
}
