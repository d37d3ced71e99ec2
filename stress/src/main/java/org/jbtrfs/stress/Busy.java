package org.jbtrfs.stress;

/**
 * What one driver is doing right now, for the watchdog: the operation's name and when it started.
 * Written by the driver only; read by the watchdog (volatile: a stale read only delays a report).
 */
final class Busy {
    final String driverName;
    private volatile String op;
    private volatile long since;

    Busy(String driverName) { this.driverName = driverName; }

    void enter(String operation) {
        op = operation;
        since = System.nanoTime();
    }

    void exit() {
        if (Profile.ON) {
            Profile.op(op, System.nanoTime() - since);
        }
        since = 0;
    }

    /** Nanoseconds the current operation has been running, or -1 when idle. */
    long runningFor(long now) {
        long s = since;
        return s == 0 ? -1 : now - s;
    }

    String op() { return op; }
}
