package org.jbtrfs.transaction.space;

import org.jbtrfs.core.Errno;

/**
 * kernel: struct reserve_ticket (fs/btrfs/space-info.h) — a reservation waiting on its space_info's tickets for the
 * async reclaim work (metadata) or the async data reclaim work (data). {@link #bytes} drops to 0 when it is granted, {@link #error} is set when it is failed; both
 * are written under the {@link SpaceManager}'s lock and then announced on this object's monitor (wake_up(&ticket->wait)),
 * which is what the waiting task sleeps on.
 */
public final class Ticket {
    volatile long bytes;
    volatile Errno error;
    final boolean steal;
    /** The space_info whose list it waits on. */
    final SpaceInfo owner;

    Ticket(SpaceInfo owner, long bytes, boolean steal) {
        this.owner = owner;
        this.bytes = bytes;
        this.steal = steal;
    }

    /** The waiter's condition in wait_reserve_ticket(): granted or failed. */
    public boolean done() { return bytes == 0 || error != null; }

    /** wake_up(&ticket->wait), after the SpaceManager lock's holder wrote {@link #bytes} or {@link #error}. */
    void wake() {
        synchronized (this) {
            notifyAll();
        }
    }

    @Override
    public String toString() { return "reserve_ticket{" + bytes + " bytes" + (error != null ? ", " + error : "") + "}"; }
}
