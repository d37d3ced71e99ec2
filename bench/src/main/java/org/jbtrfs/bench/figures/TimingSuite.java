package org.jbtrfs.bench.figures;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** The tests tagged "timing", as surefire reported them (TEST-*.xml copied by scripts/figures.sh). */
final class TimingSuite {
    /** One test: its class (simple name), display name, seconds, and "passed", "failed", "error" or "skipped". */
    record Case(String testClass, String name, double seconds, String outcome) { }

    static List<Case> read(Path dir) throws IOException {
        List<Case> cases = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return cases;
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().matches("TEST-.*\\.xml")).sorted().toList();
        }
        for (Path f : files) {
            Document d = parse(f);
            NodeList tcs = d.getElementsByTagName("testcase");
            for (int i = 0; i < tcs.getLength(); i++) {
                Element tc = (Element) tcs.item(i);
                String cls = tc.getAttribute("classname");
                String outcome = has(tc, "failure") ? "failed" : has(tc, "error") ? "error" : has(tc, "skipped") ? "skipped" : "passed";
                cases.add(new Case(cls.substring(cls.lastIndexOf('.') + 1), tc.getAttribute("name"),
                    Double.parseDouble(tc.getAttribute("time").replace(",", "")), outcome));
            }
        }
        return cases;
    }

    private static boolean has(Element e, String child) {
        return e.getElementsByTagName(child).getLength() > 0;
    }

    private static Document parse(Path f) throws IOException {
        try {
            DocumentBuilderFactory dbf = DocumentBuilderFactory.newInstance();
            dbf.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            return dbf.newDocumentBuilder().parse(f.toFile());
        } catch (javax.xml.parsers.ParserConfigurationException | org.xml.sax.SAXException e) {
            throw new IOException("cannot read surefire report " + f + ": " + e.getMessage(), e);
        }
    }
}
