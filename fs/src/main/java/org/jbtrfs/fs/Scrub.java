package org.jbtrfs.fs;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.disk.ExtentItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.SuperBlock;
import org.jbtrfs.transaction.BlockGroups;
import org.jbtrfs.transaction.DevReplaceControl;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.ScrubControl;
import org.jbtrfs.transaction.TreeItem;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.transaction.ctree.ExtentBuffer;
import org.jbtrfs.transaction.space.BlockGroup;
import org.jbtrfs.workqueue.BtrfsWork;
import org.jbtrfs.workqueue.BtrfsWorkqueue;
import org.jbtrfs.workqueue.WqFlag;

/**
 * One scrub of the filesystem's device: fs/btrfs/scrub.c (v5.11), the single-device, single-profile paths without
 * dev-replace — every block group the device tree's commit root knows, one 64 KiB stripe at a time, each extent of
 * the extent tree's commit root read from the device and checked (a tree block's checksum, bytenr and generation; a
 * data sector against its sum in the csum tree's commit root, scrub_checksum_data), the reads submitted as bios whose
 * completions run on the "btrfs-scrub" workqueue. Nothing is repaired (one copy).
 *
 * <p>What makes it a lifecycle actor: it pauses for every transaction commit ({@link ScrubControl#pause}), an RO
 * remount and close_ctree cancel it, and it marks each block group read-only while it reads it —
 * btrfs_inc_block_group_ro, which joins a transaction (see {@link BlockGroups#incBlockGroupRo}), and which keeps the
 * cleaner from deleting the group meanwhile (scrub puts a group it found unused back on the unused list).
 */
final class Scrub {
    /** BTRFS_STRIPE_LEN. */
    static final long STRIPE_LEN = 64 * 1024;
    /** SCRUB_PAGES_PER_RD_BIO: the sectors one read bio carries. */
    static final int PAGES_PER_RD_BIO = 32;
    private static final int SECTOR = 4096;
    private static final Set<WqFlag> FLAGS = EnumSet.of(WqFlag.FREEZABLE, WqFlag.UNBOUND);

    private final FsContext ctx;
    private final FsInfo fs;
    private final ScrubControl control;
    /** sctx->is_dev_replace: the copy of a device replace (each block read is written to the target). */
    private final boolean isDevReplace;
    /** sctx->readonly: a block that failed is counted and reported, never repaired nor judged uncorrectable. */
    private final boolean readonly;
    /** sctx->bios_in_flight, and sctx->list_wait (this object's monitor). */
    private final AtomicInteger biosInFlight = new AtomicInteger();
    /** sctx->stat, guarded by this object (stat_lock). */
    private final ScrubProgress.Counter stat = new ScrubProgress.Counter();
    private BtrfsWorkqueue workers;
    /** fs_devices->metadata_uuid: the fsid a tree block's header must name. */
    private final byte[] fsid;
    /** The bio being filled (scrub_add_page_to_rd_bio), submitted when full or at a flush point. */
    private ReadBio current;

    private Scrub(FsContext ctx, boolean isDevReplace, boolean readonly) {
        this.readonly = readonly;
        this.fsid = ctx.fs.fsid();
        this.ctx = ctx;
        this.isDevReplace = isDevReplace;
        this.fs = ctx.fs;
        this.control = ctx.fs.scrub;
    }

    /**
     * kernel: btrfs_scrub_dev(fs_info, devid, 0, (u64)-1, progress, readonly, 0) in fs/btrfs/scrub.c — the ioctl's
     * scrub of the one device. -EAGAIN while closing; the workqueues (scrub_workers_get); -EINPROGRESS when the device
     * is being scrubbed or replaced; then, having waited out a commit's pause request, it runs (scrubs_running): the
     * superblock, every chunk, the last bios, and the progress it made. -ECANCELED when an RO remount, close_ctree or
     * BTRFS_IOC_SCRUB_CANCEL stopped it. {@code readonly}: a block that failed its checks is counted and reported
     * (scrub_handle_errored_block's statistics and warning) and left there — no "unable to fixup", no uncorrectable
     * error; otherwise, with one copy, nothing repairs it either and it is uncorrectable.
     */
    static ScrubProgress scrubDev(FsContext ctx, boolean readonly) {
        return new Scrub(ctx, false, readonly).run(0, Long.MAX_VALUE);
    }

    /**
     * kernel: btrfs_scrub_dev(fs_info, srcdev->devid, start, end, &dev_replace->scrub_progress, 0, 1) — the copy of a
     * device replace: no superblock, every chunk from {@code start} (the committed cursor of a resumed replace), each
     * extent written to the target as it is read; the replace's cursors advance chunk by chunk.
     */
    static ScrubProgress scrubDevReplace(FsContext ctx, long start, long end) {
        return new Scrub(ctx, true, false).run(start, end);
    }

    private ScrubProgress run(long start, long end) {
        if (fs.fsClosing() != 0) {
            throw new BtrfsException(Errno.EAGAIN, "scrub: the filesystem on " + fs.sbId() + " is closing");
        }
        workersGet(); // the sctx was set up by the constructor (scrub_setup_ctx)
        boolean started = false;
        try {
            fs.kernel.hooks().arrive(Hook.SCRUB_BEFORE_RUNNING);
            Errno refused = fs.scrub.startOnDevice(this, this::devReplaceTest);
            if (refused == Errno.EINPROGRESS) {
                throw new BtrfsException(Errno.EINPROGRESS, "scrub: a scrub or a replace is already running on devid 1 of "
                    + fs.sbId());
            }
            if (refused != null) {
                throw new BtrfsException(refused, "dev_replace scrub: the replace on " + fs.sbId() + " is no longer started");
            }
            started = true;
            BtrfsException err = null;
            try {
                if (!isDevReplace) {
                    fs.log().info(fs.sbId(), "scrub: started on devid 1");
                    scrubSupers();
                }
                enumerateChunks(start, end);
            } catch (BtrfsException e) {
                err = e;
            }
            waitForBios();
            fs.scrub.runningDec();
            if (!isDevReplace) {
                fs.log().info(fs.sbId(), "scrub: " + (err != null ? "not finished" : "finished") + " on devid 1 with status: "
                    + (err != null ? err.errno().ret() : 0));
            }
            if (err != null) {
                throw err;
            }
            return progress();
        } finally {
            if (started) {
                fs.scrub.endOnDevice(this); // dev->scrub_ctx = NULL under scrub_lock
            }
            workersPut();
        }
    }

    /**
     * The dev-replace test btrfs_scrub_dev makes under scrub_lock and dev_replace.rwsem (read): a scrub while a replace
     * is ongoing is -EINPROGRESS; the proposed fix ({@link FixSwitch#DEV_REPLACE_RESUME_SUSPEND_RACE}) refuses a replace's
     * copy once the replace is no longer STARTED (suspended by an RO remount or close_ctree, whose scrub cancel found no
     * scrub running yet): -ECANCELED, which btrfs_dev_replace_finishing takes as "nothing to do" for a suspended replace.
     */
    private Errno devReplaceTest() {
        DevReplaceControl r = fs.devReplace;
        r.rwsem.readLock().lock();
        try {
            if (!isDevReplace && r.isOngoing()) {
                return Errno.EINPROGRESS;
            }
            if (isDevReplace && fs.applied(FixSwitch.DEV_REPLACE_RESUME_SUSPEND_RACE)
                && r.replaceState != DevReplaceControl.State.STARTED) {
                return Errno.ECANCELED;
            }
            return null;
        } finally {
            r.rwsem.readLock().unlock();
        }
    }

    /**
     * kernel: scrub_workers_get() — the fast path takes a reference on the queues a running scrub made; otherwise
     * allocate the three ("scrub", "scrubwrc", "scrubparity") outside scrub_lock and install them, unless another scrub
     * raced in first (then destroy ours and use its).
     */
    private void workersGet() {
        if (!control.workersGetIfAlive()) {
            var pool = ctx.module.workerPool();
            String dev = fs.sbId();
            int maxActive = fs.threadPoolSize();
            BtrfsWorkqueue scrub = BtrfsWorkqueue.alloc(pool, dev, "scrub", FLAGS, maxActive, 4);
            BtrfsWorkqueue wrComp = BtrfsWorkqueue.alloc(pool, dev, "scrubwrc", FLAGS, maxActive, 2);
            BtrfsWorkqueue parity = BtrfsWorkqueue.alloc(pool, dev, "scrubparity", FLAGS, maxActive, 2);
            if (!control.workersInstall(scrub, wrComp, parity)) {
                parity.destroy();
                wrComp.destroy();
                scrub.destroy();
            }
        }
        workers = control.workers();
    }

    /** kernel: scrub_workers_put() — the last reference destroys the queues, outside scrub_lock. */
    private void workersPut() {
        BtrfsWorkqueue[] gone = control.workersPut();
        if (gone != null) {
            for (BtrfsWorkqueue wq : gone) {
                wq.destroy();
            }
        }
    }

    /**
     * kernel: scrub_supers() — -EROFS on a filesystem in error; else read the superblock copies on the device (the port
     * writes the primary copy only, at 64 KiB) and wait for them; each is checked as scrub_checksum_super does: its
     * checksum and its generation against the last committed transaction's (no commit can write a new one meanwhile: it
     * waits for this scrub to pause).
     */
    private void scrubSupers() {
        if (fs.fsState.test(org.jbtrfs.core.FsState.ERROR)) {
            throw new BtrfsException(Errno.EROFS, "scrub: the filesystem on " + fs.sbId() + " is in error");
        }
        long gen = fs.lastTransCommitted();
        submit(); // scrub_pages: the superblock is a bio of its own
        addToBio(SuperBlock.OFFSET, SuperBlock.SIZE, BlockKind.SUPER, data -> {
            try {
                SuperBlock sb = SuperBlock.decode(data, fs.kernel.crc32c(), fs.sbId());
                if (sb.generation != gen) {
                    superError(org.jbtrfs.transaction.DevStat.GENERATION_ERRS);
                }
            } catch (BtrfsException e) {
                superError(org.jbtrfs.transaction.DevStat.CORRUPTION_ERRS);
            }
            return null; // scrub_checksum ignores scrub_checksum_super's result: the next commit writes the copy
        });
        waitForBios();
    }

    /**
     * scrub_checksum_super's failure: a super error, and the device's corruption error (a bad checksum or header) or
     * generation error (an older superblock). Reported only: the next commit writes it.
     */
    private void superError(org.jbtrfs.transaction.DevStat which) {
        synchronized (this) {
            stat.superErrors++;
        }
        fs.device.scrubError(which);
    }

    private synchronized ScrubProgress progress() { return stat.snapshot(); }

    /**
     * kernel: scrub_enumerate_chunks() — each block group of the device, in address order as the device tree's commit
     * root lists its dev extents (the port's chunks map 1:1 onto the device): a reference on the group, skipped if
     * removed; read-only for this scrub (btrfs_inc_block_group_ro with the scrub counted as paused, so a commit the
     * join waits for can go on; -ENOSPC scrubs it writable); its stripes; the bios; then the group writable again, back
     * on the unused list if it is unused and the cleaner had skipped it because this scrub held it read-only.
     */
    private void enumerateChunks(long start, long end) {
        DevReplaceControl r = fs.devReplace;
        long cursor = 0;
        while (true) {
            BlockGroup bg = nextChunk(cursor);
            if (bg == null || bg.start() >= end) {
                if (bg != null) {
                    fs.space.putBlockGroup(bg);
                }
                return;
            }
            cursor = bg.end();
            if (bg.end() <= start) {
                fs.space.putBlockGroup(bg); // "if (found_key.offset + length <= start) goto skip"
                continue;
            }
            if (isDevReplace) {
                fs.kernel.hooks().arrive(Hook.DEV_REPLACE_NEXT_CHUNK);
            }
            boolean roSet;
            control.pauseOn();
            try {
                fs.kernel.hooks().arrive(Hook.SCRUB_BEFORE_INC_BLOCK_GROUP_RO);
                roSet = BlockGroups.incBlockGroupRo(fs, bg, isDevReplace);
                if (!roSet && isDevReplace) {
                    // "for dev replace, it's not allowed to continue if a block group is not RO"
                    throw new BtrfsException(Errno.ENOSPC, "dev_replace: block group " + bg.start() + " cannot be set ro");
                }
            } catch (BtrfsException e) {
                fs.log().warn(fs.sbId(), "failed setting block group ro: " + e.errno().ret());
                fs.space.putBlockGroup(bg);
                control.pauseOff();
                throw e;
            }
            if (isDevReplace) {
                // "Now the target block is marked RO, wait for nocow writes to finish before dev-replace" (the port has no
                // nocow writes; btrfs_wait_ordered_roots for the group: the port's only range is the whole disk)
                ctx.ordered.waitOrderedRoots();
            }
            control.pauseOff();
            if (isDevReplace) {
                r.rwsem.writeLock().lock();
                try {
                    r.cursorRight = bg.end(); // the port's chunks map 1:1 onto the device
                    r.cursorLeft = bg.start();
                    r.itemNeedsWriteback = true;
                } finally {
                    r.rwsem.writeLock().unlock();
                }
            }
            BtrfsException err = null;
            try {
                scrubChunk(bg);
            } catch (BtrfsException e) {
                err = e;
            }
            submit();
            waitForBios();
            err = unrepairedMetadata(err);
            control.pauseOn();
            control.pauseOff();
            if (isDevReplace && (err == null || !fs.applied(FixSwitch.DEV_REPLACE_CURSOR_PAST_CANCELLED_CHUNK))) {
                // 5.11 moves the cursor whether or not the chunk was copied (a cancelled copy too); the proposed fix
                // only past a chunk whose copy succeeded
                r.rwsem.writeLock().lock();
                try {
                    r.cursorLeft = r.cursorRight;
                    r.itemNeedsWriteback = true;
                } finally {
                    r.rwsem.writeLock().unlock();
                }
            }
            if (roSet) {
                fs.space.decBlockGroupRo(bg);
            }
            // "We might have prevented the cleaner kthread from deleting this block group if it was already unused
            // because we raced and set it to RO mode first. So add it back to the unused list"
            if (fs.space.isUnused(bg)) {
                if (fs.mountOpt.test(org.jbtrfs.core.kernel.MountOpt.DISCARD_ASYNC)) {
                    fs.discard.queueWork(bg);
                } else {
                    fs.space.markUnused(bg);
                }
            }
            fs.space.putBlockGroup(bg);
            if (err != null) {
                throw err;
            }
            if (isDevReplace && r.numWriteErrors.get() > 0) {
                throw new BtrfsException(Errno.EIO, "dev_replace: writes to the target failed on " + fs.sbId());
            }
        }
    }

    /**
     * The next dev extent from {@code cursor} in the device tree's commit root, and its block group
     * (btrfs_lookup_block_group, with a reference): the port keeps no device tree; its commit-root view is the
     * block group items of the extent tree's commit root, one chunk each. A group created since the last commit is
     * not there yet; one removed since is skipped ("some chunks are removed but not committed to disk yet").
     */
    private BlockGroup nextChunk(long cursor) {
        Key from = new Key(cursor, ItemType.BLOCK_GROUP_ITEM, 0);
        while (true) {
            List<TreeItem> items = Trees.commitRootRangeFromPrevious(fs, fs.extentRoot(), from, Key.MAX);
            TreeItem found = null;
            for (TreeItem it : items) {
                if (it.key().type() == ItemType.BLOCK_GROUP_ITEM && it.key().objectid() >= cursor) {
                    found = it;
                    break;
                }
            }
            if (found == null) {
                return null;
            }
            BlockGroup bg = fs.space.lookupBlockGroup(found.key().objectid());
            if (bg != null && !fs.space.isRemoved(bg)) {
                return bg;
            }
            if (bg != null) {
                fs.space.putBlockGroup(bg);
            }
            cursor = found.key().objectid() + found.key().offset();
            from = new Key(cursor, ItemType.BLOCK_GROUP_ITEM, 0);
        }
    }

    /**
     * kernel: scrub_chunk() → scrub_stripe() for the single profile — stripe by stripe: stop when cancelled
     * (-ECANCELED), let a commit that asked for a pause through (after the bios in flight), then every extent of the
     * extent tree's commit root that reaches into the stripe, cut to it; a tree block that spans stripes is an
     * uncorrectable error; a group removed meanwhile ends the chunk.
     */
    private void scrubChunk(BlockGroup bg) {
        waitForBios();
        control.blockedIfNeeded();
        for (long logical = bg.start(); logical < bg.end(); logical += STRIPE_LEN) {
            if (control.cancelRequested()) {
                throw new BtrfsException(Errno.ECANCELED, "scrub cancelled on " + fs.sbId());
            }
            if (control.pauseRequested()) {
                submit();
                waitForBios();
                control.blockedIfNeeded();
            }
            fs.kernel.hooks().arrive(Hook.SCRUB_STRIPE);
            long stripeEnd = logical + STRIPE_LEN;
            List<TreeItem> items = stripeItems(logical, stripeEnd);
            for (TreeItem it : items) {
                Key k = it.key();
                if (k.type() != ItemType.EXTENT_ITEM && k.type() != ItemType.METADATA_ITEM) {
                    continue;
                }
                long bytes = k.type() == ItemType.METADATA_ITEM ? SuperBlock.NODESIZE : k.offset();
                if (k.objectid() + bytes <= logical || k.objectid() >= stripeEnd) {
                    continue;
                }
                if (fs.space.isRemoved(bg)) {
                    return; // "our block group was removed in the meanwhile, just stop scrubbing"
                }
                ExtentItem ei = ExtentItem.decode(it.data());
                boolean tree = k.type() == ItemType.METADATA_ITEM || ei.isTreeBlock();
                if (tree && (k.objectid() < logical || k.objectid() + bytes > stripeEnd)) {
                    fs.log().error(fs.sbId(), "scrub: tree block " + k.objectid() + " spanning stripes, ignored. logical="
                        + logical);
                    synchronized (this) {
                        stat.uncorrectableErrors++;
                    }
                    continue;
                }
                long start = Math.max(k.objectid(), logical);
                long len = Math.min(k.objectid() + bytes, stripeEnd) - start;
                scrubExtent(start, len, tree, ei.generation());
            }
            synchronized (this) {
                stat.lastPhysical = stripeEnd;
            }
        }
        submit(); // scrub_stripe's last scrub_submit
    }

    /**
     * scrub_stripe's btrfs_search_slot for (logical, METADATA_ITEM, -1) in the extent tree's commit root, then
     * btrfs_previous_extent_item: the walk back goes past items that are not extent items — the block group's own
     * BLOCK_GROUP_ITEM sorts after an extent that starts at the group's start — to the extent item that may reach into
     * the stripe; then every item up to the stripe's end. Stop 76, port bug (found once the after-umount check read the
     * data against its sums): only the one item before the stripe was taken, so a data extent at a group's start
     * longer than a stripe had its first 64 KiB scrubbed and, in a replace, copied — the rest never reached the target
     * (explorer class e73c597e; ScrubStripeExtentTest).
     */
    private List<TreeItem> stripeItems(long logical, long stripeEnd) {
        Key from = new Key(logical, ItemType.METADATA_ITEM, -1L);
        List<TreeItem> items = new java.util.ArrayList<>(Trees.commitRootRangeFromPrevious(fs, fs.extentRoot(), from,
            new Key(stripeEnd - 1, ItemType.METADATA_ITEM, -1L)));
        while (!items.isEmpty()) {
            Key first = items.get(0).key();
            if (first.compareTo(from) >= 0 || first.type() == ItemType.EXTENT_ITEM || first.type() == ItemType.METADATA_ITEM) {
                break;
            }
            Key below = justBelow(first);
            if (below == null) {
                break;
            }
            List<TreeItem> back = Trees.commitRootRangeFromPrevious(fs, fs.extentRoot(), below, below);
            if (back.isEmpty() || back.get(0).key().compareTo(first) >= 0) {
                break; // no smaller item
            }
            items.add(0, back.get(0));
        }
        return items;
    }

    /** The greatest key below {@code k}, or null for the smallest key. */
    private static Key justBelow(Key k) {
        if (k.offset() != 0) {
            return new Key(k.objectid(), k.type(), k.offset() - 1);
        }
        if (k.type() != 0) {
            return new Key(k.objectid(), k.type() - 1, -1L);
        }
        return k.objectid() == 0 ? null : new Key(k.objectid() - 1, 255, -1L);
    }

    /**
     * The later upstream {@link FixSwitch#DEV_REPLACE_UNREPAIRED_METADATA} (8eb3dd17eadd): a replace's chunk whose copy
     * left a tree block unrepaired ends the copy with -EIO — "stripe %llu has unrepaired metadata sector at %llu".
     * Mainline tests it in flush_scrub_stripes, once the stripes' reads and repairs are done and before their blocks go
     * to the target; 5.11's structure has the chunk's bios done here, after scrub_enumerate_chunks' wait for them. (The
     * pre-6.4 version posted for the stable trees tested sctx->has_meta_failed at scrub_stripe's end, before its last
     * bios completed — what the port did until stop 74: a tree block in a chunk's last bio escaped the test when the
     * next chunk's copy was cancelled, explorer class 10a4d7ed. Not what upstream merged.) A cancelled chunk keeps its
     * -ECANCELED ("if (!ret) ret = tmp").
     */
    private BtrfsException unrepairedMetadata(BtrfsException err) {
        if (!isDevReplace || err != null || !fs.applied(FixSwitch.DEV_REPLACE_UNREPAIRED_METADATA)) {
            return err;
        }
        long at;
        synchronized (this) {
            if (metaFailedAt < 0) {
                return null;
            }
            at = metaFailedAt;
        }
        long stripe = at - Math.floorMod(at, STRIPE_LEN);
        fs.log().error(fs.sbId(), "stripe " + stripe + " has unrepaired metadata sector at " + at);
        return new BtrfsException(Errno.EIO, "dev_replace: unrepaired metadata at " + at + " on " + fs.sbId());
    }

    /**
     * kernel: scrub_extent() → scrub_pages() — a tree block is one block of nodesize, data one block per sector; each
     * goes into the read bio, which is submitted when full.
     */
    private void scrubExtent(long logical, long len, boolean tree, long generation) {
        if (tree) {
            synchronized (this) {
                stat.treeExtentsScrubbed++;
                stat.treeBytesScrubbed += len;
            }
            addToBio(logical, (int) len, BlockKind.TREE_BLOCK, data -> treeBlockError(logical, data, generation));
            return;
        }
        synchronized (this) {
            stat.dataExtentsScrubbed++;
            stat.dataBytesScrubbed += len;
        }
        // btrfs_lookup_csums_range over the extent, from the csum tree's commit root; scrub_find_csum per sector
        long[] sums = org.jbtrfs.transaction.Csums.lookupCommitted(fs, logical, (int) ((len + SECTOR - 1) / SECTOR));
        for (long off = 0; off < len; off += SECTOR) {
            long sum = sums[(int) (off / SECTOR)];
            addToBio(logical + off, (int) Math.min(SECTOR, len - off), BlockKind.DATA, data -> {
                if (sum == org.jbtrfs.transaction.Csums.MISSING) {
                    synchronized (this) {
                        stat.noCsum++; // no checksum to verify (a NODATASUM extent; none of the port's files is)
                    }
                    return null;
                }
                // scrub_checksum_data
                long got = fs.kernel.crc32c().compute(data, 0, data.length) & 0xffffffffL;
                return got == sum ? null : new BlockError(BlockError.Kind.CHECKSUM, null);
            });
        }
    }

    /**
     * kernel: scrub_checksum_tree_block() — the header's bytenr, generation (the extent item's) and fsid, then the
     * checksum, each checked on its own: the error (a bad checksum first, as scrub_handle_errored_block weighs them), or
     * null for a good block. Scrub checks no level (validate_extent_buffer does; a block read for the trees).
     */
    private BlockError treeBlockError(long logical, byte[] data, long generation) {
        ExtentBuffer eb = new ExtentBuffer(data);
        String header = null;
        boolean generationError = false;
        if (eb.bytenr() != logical) {
            header = "bytenr " + eb.bytenr();
        }
        if (eb.generation() != generation) {
            header = "generation " + eb.generation() + ", expected " + generation;
            generationError = true;
        }
        if (!java.util.Arrays.equals(eb.fsid(), fsid)) {
            header = header == null ? "fsid of another filesystem" : header;
        }
        int found = eb.computeChecksum(fs.kernel.crc32c());
        if (found != eb.storedChecksum()) {
            return new BlockError(BlockError.Kind.CHECKSUM, String.format("csum 0x%08x, expected 0x%08x", found,
                eb.storedChecksum()));
        }
        if (header == null) {
            return null;
        }
        return new BlockError(generationError ? BlockError.Kind.GENERATION : BlockError.Kind.HEADER, header);
    }

    /**
     * The sblock's checksum_error, header_error and generation_error as scrub_handle_errored_block weighs them (a
     * checksum error first), with what the port adds to scrub_print_warning's line ({@code detail}, null for none).
     */
    record BlockError(Kind kind, String detail) {
        enum Kind {
            /** checksum_error: csum_errors, "checksum error", BTRFS_DEV_STAT_CORRUPTION_ERRS. */
            CHECKSUM("checksum error", org.jbtrfs.transaction.DevStat.CORRUPTION_ERRS),
            /** header_error: verify_errors, "checksum/header error", BTRFS_DEV_STAT_CORRUPTION_ERRS. */
            HEADER("checksum/header error", org.jbtrfs.transaction.DevStat.CORRUPTION_ERRS),
            /** header_error with generation_error: verify_errors, BTRFS_DEV_STAT_GENERATION_ERRS. */
            GENERATION("checksum/header error", org.jbtrfs.transaction.DevStat.GENERATION_ERRS);

            final String errstr;
            final org.jbtrfs.transaction.DevStat devStat;

            Kind(String errstr, org.jbtrfs.transaction.DevStat devStat) {
                this.errstr = errstr;
                this.devStat = devStat;
            }
        }
    }

    /**
     * kernel: scrub_handle_errored_block() for a block that failed its checks without an I/O error — counted and
     * printed; a replace's copy then rereads the block from the other mirror, the target (btrfs_map_sblock with
     * GET_READ_MIRRORS: handle_ops_on_dev_replace adds its stripe), and writes that copy to the target when it passes
     * ("fixed up"), else the bad one (scrub_write_page_to_dev_replace of sblock_bad). A scrub has no other mirror on one
     * device: "unable to fixup". Returns what goes to the target.
     */
    private byte[] erroredBlock(ReadBio.Block b, byte[] bad, BlockError error) {
        synchronized (this) {
            if (error.kind() == BlockError.Kind.CHECKSUM) {
                stat.csumErrors++;
            } else {
                stat.verifyErrors++;
            }
        }
        fs.log().warn(fs.sbId(), error.kind().errstr + " at logical " + b.logical() + " on dev " + fs.sbId()
            + (error.detail() == null ? "" : ", " + error.detail())); // scrub_print_warning()
        fs.device.scrubError(error.kind().devStat);
        if (readonly) {
            return bad; // scrub_handle_errored_block: sctx->readonly goes out here
        }
        if (isDevReplace) {
            byte[] other = new byte[b.len()];
            boolean read = true;
            try {
                fs.device.scrubRead(2, b.logical(), other, 0, other.length);
            } catch (BtrfsException e) {
                read = false;
            }
            if (read && b.check().apply(other) == null) {
                synchronized (this) {
                    stat.correctedErrors++;
                }
                fs.log().error(fs.sbId(), "fixed up error at logical " + b.logical() + " on dev " + fs.sbId());
                return other;
            }
        }
        unableToFixup(b);
        return bad;
    }

    /**
     * scrub_handle_errored_block's did_not_correct_error: counted and printed; a tree block is remembered for the later
     * upstream {@link FixSwitch#DEV_REPLACE_UNREPAIRED_METADATA} ({@link #unrepairedMetadata}).
     */
    private void unableToFixup(ReadBio.Block b) {
        synchronized (this) {
            stat.uncorrectableErrors++;
            if (b.kind() == BlockKind.TREE_BLOCK && metaFailedAt < 0) {
                metaFailedAt = b.logical();
            }
        }
        fs.log().error(fs.sbId(), "unable to fixup (regular) error at logical " + b.logical() + " on dev " + fs.sbId());
    }

    /**
     * The first tree block this scrub could not repair, -1 while none (sctx->has_meta_failed of the pre-6.4 posting;
     * mainline's stripe error bitmaps): {@link #unrepairedMetadata}.
     */
    private long metaFailedAt = -1;

    /** scrub_recheck_block() of mirror 1 for a block of a failed bio: the block read alone, or null on an I/O error. */
    private byte[] recheckRead(ReadBio.Block b) {
        byte[] block = new byte[b.len()];
        try {
            fs.device.scrubRead(1, b.logical(), block, 0, block.length);
            return block;
        } catch (BtrfsException e) {
            return null;
        }
    }

    /**
     * kernel: scrub_handle_errored_block() for a block mirror 1 cannot read — a read error, printed; a replace's copy
     * rereads the target's copy and writes it when it passes its checks ("fixed up"), else zeros for the unreadable
     * block (scrub_write_page_to_dev_replace clears an io_error page) and one more uncorrectable read error of the
     * replace. Returns what goes to the target.
     */
    private byte[] unreadableBlock(ReadBio.Block b) {
        if (b.kind() == BlockKind.SUPER) {
            synchronized (this) {
                stat.superErrors++; // scrub_handle_errored_block reports a bad superblock only
            }
            return new byte[b.len()];
        }
        synchronized (this) {
            stat.readErrors++;
        }
        fs.log().warn(fs.sbId(), "i/o error at logical " + b.logical() + " on dev " + fs.sbId()); // scrub_print_warning()
        fs.device.scrubError(org.jbtrfs.transaction.DevStat.READ_ERRS);
        if (readonly) {
            return new byte[b.len()];
        }
        if (isDevReplace) {
            byte[] other = new byte[b.len()];
            try {
                fs.device.scrubRead(2, b.logical(), other, 0, other.length);
                if (b.check().apply(other) == null) {
                    synchronized (this) {
                        stat.correctedErrors++;
                    }
                    fs.log().error(fs.sbId(), "fixed up error at logical " + b.logical() + " on dev " + fs.sbId());
                    return other;
                }
            } catch (BtrfsException e) {
                // no mirror without an I/O error
            }
            fs.devReplace.numUncorrectableReadErrors.incrementAndGet();
        }
        unableToFixup(b);
        return new byte[b.len()];
    }

    /** kernel: scrub_add_page_to_rd_bio() — a block joins the current bio unless it is full or not contiguous. */
    private void addToBio(long logical, int len, BlockKind kind, java.util.function.Function<byte[], BlockError> check) {
        if (current != null && (current.blocks.size() >= PAGES_PER_RD_BIO || current.end() != logical)) {
            submit();
        }
        if (current == null) {
            current = new ReadBio(logical);
        }
        current.blocks.add(new ReadBio.Block(logical, len, check, kind));
    }

    /**
     * kernel: scrub_submit() — the current bio goes to the device (bios_in_flight + 1); its completion,
     * scrub_bio_end_io_worker on the scrub workqueue, checks each block (scrub_block_complete) and drops the count.
     * The port reads in the completion work: the device's latency is paid there, as the block layer would.
     */
    private void submit() {
        ReadBio bio = current;
        if (bio == null) {
            return;
        }
        current = null;
        biosInFlight.incrementAndGet();
        workers.queueWork(new BtrfsWork(() -> {
            try {
                // the bio's one read of its contiguous range, then scrub_block_complete for each block in it
                byte[] data = new byte[(int) (bio.end() - bio.start)];
                boolean ok = true;
                try {
                    fs.device.scrubRead(1, bio.start, data, 0, data.length);
                } catch (BtrfsException e) {
                    ok = false;
                }
                // scrub_block_complete for each block in it: a good block, or the one scrub_handle_errored_block
                // chose, goes to the same place on the target (scrub_write_block_to_dev_replace)
                byte[] toTarget = isDevReplace ? new byte[data.length] : null;
                for (ReadBio.Block b : bio.blocks) {
                    int at = (int) (b.logical() - bio.start);
                    // a bio that failed: scrub_handle_errored_block rereads each block alone (scrub_recheck_block);
                    // a superblock it only counts
                    byte[] block = ok ? java.util.Arrays.copyOfRange(data, at, at + b.len())
                        : b.kind() == BlockKind.SUPER ? null : recheckRead(b);
                    byte[] chosen;
                    if (block == null) {
                        chosen = unreadableBlock(b);
                    } else {
                        BlockError error = b.check().apply(block);
                        if (error == null && !ok) {
                            synchronized (this) {
                                stat.unverifiedErrors++; // "the error disappeared after reading page by page"
                            }
                        }
                        chosen = error == null ? block : erroredBlock(b, block, error);
                    }
                    if (toTarget != null) {
                        System.arraycopy(chosen, 0, toTarget, at, b.len());
                    }
                }
                if (toTarget != null) {
                    try {
                        fs.device.writeTarget(bio.start, toTarget, 0, toTarget.length);
                    } catch (BtrfsException e) {
                        fs.devReplace.numWriteErrors.incrementAndGet(); // btrfs_dev_replace_stats_inc
                    }
                }
            } finally {
                synchronized (this) {
                    biosInFlight.decrementAndGet();
                    notifyAll(); // wake_up(&sctx->list_wait)
                }
            }
        }));
    }

    /** wait_event(sctx->list_wait, atomic_read(&sctx->bios_in_flight) == 0), after submitting the current bio. */
    private void waitForBios() {
        submit();
        synchronized (this) {
            fs.kernel.sched().waitUntil(this, "scrub: wait for bios in flight", () -> biosInFlight.get() == 0);
        }
    }

    /** The scrub_page flags of a block: BTRFS_EXTENT_FLAG_DATA, _TREE_BLOCK or _SUPER. */
    private enum BlockKind { DATA, TREE_BLOCK, SUPER }

    /** struct scrub_bio for reads: contiguous blocks, each checked at completion. */
    private static final class ReadBio {
        /** {@code check}: the block's error, or null when it passed. */
        record Block(long logical, int len, java.util.function.Function<byte[], BlockError> check, BlockKind kind) { }

        final long start;
        final java.util.List<Block> blocks = new java.util.ArrayList<>();

        ReadBio(long start) { this.start = start; }

        long end() {
            Block last = blocks.get(blocks.size() - 1);
            return last.logical() + last.len();
        }
    }
}
