package org.jbtrfs.stress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.stress.cli.StressMain;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StressOptionsTest {
    @Test
    void defaultsFollowTheContract() throws UsageException {
        StressOptions o = StressOptions.parse(new String[0], 77);
        assertEquals(10_000_000_000L, o.durationNanos());
        assertEquals(Long.MAX_VALUE, o.cycles());
        assertEquals(77, o.seed());
        assertFalse(o.seedGiven(), "a clock seed is printed, not given");
        assertEquals(EnumSet.noneOf(FixSwitch.class), o.reverted());
        assertEquals(Crc32cImpl.GENERIC, o.crc32c());
        assertEquals(1, o.filesystems());
        assertEquals(StressOptions.Workload.LANES, o.workload(), "the explorer's lanes are the default");
        assertEquals(null, o.kernel(), "every fix applied, proposed ones too");
        assertEquals(EnumSet.noneOf(FixSwitch.class), o.effectiveReverted());
        assertEquals(1, o.repeat());
    }

    @Test
    void aKernelProfileRevertsWhatItLacksAndRevertRevertsMore() throws UsageException {
        StressOptions o = StressOptions.parse(new String[] {"--kernel", "5.12", "--revert", "trans-list-assert", "--workload", "full",
            "--replay", "7:3", "--repeat", "10", "--class", "abcd0123", "--stall-threshold", "0.25"}, 1);
        EnumSet<FixSwitch> want = EnumSet.complementOf(EnumSet.copyOf(FixSwitch.seed()));
        want.add(FixSwitch.TRANS_LIST_ASSERT);
        assertEquals(want, o.effectiveReverted());
        assertEquals(StressOptions.Workload.FULL, o.workload());
        assertEquals(10, o.repeat());
        assertEquals("abcd0123", o.expectClass());
        assertEquals(250_000_000L, o.stallNanos());
        assertThrows(UsageException.class, () -> StressOptions.parse(new String[] {"--kernel", "4.19"}, 1));
    }

    @Test
    void everyOptionParses() throws UsageException {
        StressOptions o = StressOptions.parse(new String[] {"--duration", "2.5", "--cycles", "9", "--seed", "0x10",
            "--revert", "qgroup-rescan-ro-remount,trans-list-assert", "--crc32c", "accelerated", "--filesystems", "3",
            "--workload=minimal", "--json", "out.json", "--replay", "5:17:2"}, 0);
        assertEquals(2_500_000_000L, o.durationNanos());
        assertEquals(9, o.cycles());
        assertEquals(16, o.seed());
        assertEquals(EnumSet.of(FixSwitch.QGROUP_RESCAN_RO_REMOUNT, FixSwitch.TRANS_LIST_ASSERT), o.reverted());
        assertEquals(Crc32cImpl.ACCELERATED, o.crc32c());
        assertEquals(3, o.filesystems());
        assertEquals(StressOptions.Workload.MINIMAL, o.workload());
        assertEquals("out.json", o.json().toString());
        assertEquals(new ReplayToken(5, 17, 2), o.replay());
    }

    @Test
    void onlyCyclesLiftsTheDurationBound() throws UsageException {
        assertEquals(Long.MAX_VALUE, StressOptions.parse(new String[] {"--cycles", "5"}, 0).durationNanos());
    }

    @Test
    void allAndNoneRevert() throws UsageException {
        assertEquals(EnumSet.allOf(FixSwitch.class), StressOptions.parse(new String[] {"--revert", "all"}, 0).reverted());
        assertTrue(StressOptions.parse(new String[] {"--revert", "none"}, 0).reverted().isEmpty());
    }

    @ParameterizedTest
    @ValueSource(strings = {"--revert no-such-fix", "--duration -1", "--replay 12", "--replay x:1", "--replay 1:-2",
        "--bogus 1", "--crc32c fast", "--filesystems 0", "--workload heavy", "--cycles", "stray"})
    void usageErrorsExitWithTwoAndPrintTheUsage(String args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = StressMain.run(args.split(" "), new PrintStream(out), new PrintStream(err), false);
        assertEquals(2, code);
        String e = err.toString(StandardCharsets.UTF_8);
        assertTrue(e.startsWith("jbtrfs-stress: "), e);
        assertTrue(e.contains("usage: java -jar jbtrfs-stress.jar"), e);
    }

    @Test
    void unknownSwitchNamesTheValidOnes() {
        UsageException e = assertThrows(UsageException.class, () -> StressOptions.parse(new String[] {"--revert", "nope"}, 0));
        assertTrue(e.getMessage().contains("orphan-roots-ro-mount"), e.getMessage());
    }
}
