package org.jbtrfs.differential.scenario;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ScenarioParserTest {
    private static Scenario parse(String body) { return ScenarioParser.parse("t.scn", "scenario t\n" + body); }

    private static String error(String body) {
        return assertThrows(ScenarioException.class, () -> parse(body)).getMessage();
    }

    @Test
    void everyShippedScenarioParses() {
        assertEquals(9, Scenarios.names().size());
        for (String n : Scenarios.names()) {
            Scenario s = Scenarios.load(n, Map.of());
            assertEquals(n, s.name());
            assertTrue(!s.description().isEmpty() && !s.description().contains("${"), n);
            assertTrue(s.steps().stream().anyMatch(st -> st.verb() == Verb.OBSERVE
                || st.body().stream().anyMatch(b -> b.verb() == Verb.OBSERVE)), n);
        }
    }

    @Test
    void stepsArgumentsParametersRepeatsAndExpectations() {
        Scenario s = ScenarioParser.parse("t.scn", String.join("\n",
            "# a comment", "scenario demo", "description one ${n}", "description two", "param n 3",
            "expect *: qgroup status when ON|RESCAN* vs ON -- a reason", "expect *orphan* -- another",
            "mkfs 256M", "mount commit=5   # trailing comment", "subvolume create sv", "extents sv/f ${n}",
            "repeat ${n}", "  remount ro", "  observe dmesg /qgroup scan (paused|completed)/ as phase 1", "  remount rw", "end",
            "observe root-tree", "umount"), Map.of("n", "7"));
        assertEquals("one 7 two", s.description());
        assertEquals(Map.of("n", "7"), s.params());
        assertEquals(List.of(Verb.MKFS, Verb.MOUNT, Verb.SUBVOLUME_CREATE, Verb.EXTENTS, Verb.REPEAT, Verb.OBSERVE, Verb.UMOUNT),
            s.steps().stream().map(Step::verb).toList());
        assertEquals(List.of("commit=5"), s.steps().get(1).args());
        assertEquals(List.of("sv/f", "7"), s.steps().get(3).args());
        Step repeat = s.steps().get(4);
        assertEquals("7", repeat.arg(0));
        assertEquals(3, repeat.body().size());
        Step dmesg = repeat.body().get(1);
        assertEquals(ObservationKind.DMESG, dmesg.kind());
        assertEquals(List.of("qgroup scan (paused|completed)"), dmesg.args());
        assertEquals("phase 1", dmesg.label());
        assertEquals("#2 root-tree", s.steps().get(5).label());
        assertEquals("a reason", s.expectedDifference("x: qgroup status", "ON|RESCAN|INCONSISTENT", "ON"));
        assertNull(s.expectedDifference("x: qgroup status", "ON", "ON|RESCAN"), "the value globs must match too");
        assertEquals("another", s.expectedDifference("y: orphan item 256", "present", "absent"));
        assertEquals(4L << 30, ScenarioParser.sizeOf("4G"));
    }

    @Test
    void unknownStepsOptionsAndObservationsAreClearErrorsNamingTheLine() {
        assertTrue(error("mkfs 256M\nfrobnicate now").startsWith("t.scn line 3: unknown step 'frobnicate now'; steps are: mkfs SIZE"),
            error("mkfs 256M\nfrobnicate now"));
        assertTrue(error("mkfs 256M\nsubvolume snapshot a b").contains("line 3: unknown step 'subvolume snapshot'"));
        assertEquals("t.scn line 3: unknown mount option 'space_cache=v1'; known: ro, rw, commit=N",
            error("mkfs 256M\nmount space_cache=v1"));
        assertTrue(error("mkfs 256M\nmount commit=x").contains("bad mount option 'commit=x'"));
        assertTrue(error("mkfs 256M\nmount\nobserve everything").contains("line 4: unknown observation 'everything'; observations are: root-tree"));
        assertTrue(error("mkfs 256M\nmount\nobserve dmesg paused").contains("needs a /REGEX/"));
        assertTrue(error("mkfs 256M\nmount\nobserve dmesg /(/").contains("bad regex"));
        assertTrue(error("mkfs 256M\nmount\nobserve root-tree extra").contains("takes no argument"));
        assertTrue(error("mkfs 12M").contains("bad size '12M'"));
        assertTrue(error("mkfs 256M\nmount\nfiles sv -1").contains("bad count '-1'"));
        assertTrue(error("mkfs 256M\nmount\ncreate /etc/passwd").contains("bad path '/etc/passwd'"));
        assertTrue(error("mkfs 256M\nmount\ncreate a/../b").contains("bad path"));
        assertTrue(error("mkfs 256M\numount now").contains("'umount' takes no arguments"));
        assertTrue(error("mkfs ${size}").contains("unknown parameter ${size}"));
        assertTrue(error("expect nothing").contains("expected 'expect KEY-GLOB"));
        assertTrue(error("expect a when b -- c").contains("expected 'expect KEY-GLOB"));
        assertTrue(assertThrows(ScenarioException.class, () -> ScenarioParser.parse("t.scn", "mkfs 256M")).getMessage()
            .contains("no 'scenario NAME' line"));
        assertTrue(assertThrows(ScenarioException.class, () -> ScenarioParser.parse("t.scn", "scenario t\nparam a 1", Map.of("b", "2")))
            .getMessage().contains("unknown parameter 'b'; its parameters are: a"));
    }

    @Test
    void repeatBlocksMustBalanceAndEndWhereTheyStarted() {
        assertTrue(error("mkfs 256M\nend").contains("'end' without 'repeat'"));
        assertTrue(error("mkfs 256M\nrepeat 2\nmount").contains("line 3: 'repeat' without 'end'"));
        assertTrue(error("mkfs 256M\nrepeat 2\nrepeat 2\nend\nend").contains("nested 'repeat'"));
        assertTrue(error("mkfs 256M\nrepeat 2\nmount\nend").contains("a repeat body must end in the state it starts in"));
        assertTrue(error("mkfs 256M\nrepeat 2\nend").contains("empty repeat"));
    }

    @Test
    void theLifecycleIsCheckedBeforeAnythingRuns() {
        assertTrue(error("mount").contains("mount before mkfs"));
        assertTrue(error("mkfs 256M\nmount\nmount").contains("line 4: already mounted"));
        assertTrue(error("mkfs 256M\numount").contains("nothing is mounted"));
        assertTrue(error("mkfs 256M\nmount ro\ncreate a").contains("'create' on a read-only mount"));
        assertTrue(error("mkfs 256M\nmount\nremount ro\nsubvolume delete sv").contains("on a read-only mount"));
        assertTrue(error("mkfs 256M\nmount\ncreate a\nopen h a\numount").contains("umount with open handles [h]"));
        assertTrue(error("mkfs 256M\nmount\nclose h").contains("handle 'h' is not open"));
        assertTrue(error("mkfs 256M\nmount\ncreate a\nopen h a\nopen h a").contains("already open"));
        assertTrue(error("mkfs 256M\nmount\ncrash\nrecover").contains("recover while mounted"));
        assertTrue(error("mkfs 256M\nrecover").contains("recover without crash"));
        assertTrue(error("mkfs 256M\nobserve rescan").contains("nothing is mounted"));
        assertTrue(error("mkfs 256M\nmount\nlifecycle-latency 5").contains("not mounted"));
        assertTrue(error("mkfs 256M\nmount\nfreeze\nfreeze").contains("already frozen"));
        assertTrue(error("mkfs 256M\nmount\nthaw").contains("thaw without freeze"));
        assertTrue(error("mkfs 256M\nmount\nfreeze\ncreate a").contains("'create' while frozen"));
        assertTrue(error("mkfs 256M\nmount\nfreeze\nremount ro").contains("remount while frozen"));
        assertTrue(error("mkfs 256M\nmount\nfreeze\numount").contains("umount while frozen"));
    }
}
