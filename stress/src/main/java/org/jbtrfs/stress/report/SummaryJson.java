package org.jbtrfs.stress.report;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Properties;
import org.jbtrfs.stress.ReplayToken;

/**
 * The one JSON writer and reader of summaries (Jackson): {@code "key": value}, two spaces of indent as
 * the first format had, replay tokens as their text ("7:3").
 */
public final class SummaryJson {
    private static final ObjectMapper MAPPER = mapper();
    private static final DefaultPrettyPrinter PRETTY = new Pretty();

    private SummaryJson() { }

    private static ObjectMapper mapper() {
        SimpleModule tokens = new SimpleModule("replay-tokens");
        tokens.addSerializer(ReplayToken.class, new JsonSerializer<>() {
            @Override
            public void serialize(ReplayToken t, JsonGenerator g, SerializerProvider p) throws IOException { g.writeString(t.toString()); }
        });
        tokens.addDeserializer(ReplayToken.class, new JsonDeserializer<>() {
            @Override
            public ReplayToken deserialize(JsonParser p, DeserializationContext c) throws IOException { return ReplayToken.parse(p.getValueAsString()); }
        });
        return new ObjectMapper().registerModule(tokens).configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    }

    /** {@code "key": value}, arrays one element a line, and empty ones as {@code []} and {@code {}}. */
    private static final class Pretty extends DefaultPrettyPrinter {
        Pretty() {
            super(Separators.createDefaultInstance().withObjectFieldValueSpacing(Separators.Spacing.AFTER));
            _arrayIndenter = DefaultIndenter.SYSTEM_LINEFEED_INSTANCE;
        }

        private Pretty(Pretty base) { super(base); }

        @Override
        public DefaultPrettyPrinter createInstance() { return new Pretty(this); }

        @Override
        public void writeEndObject(JsonGenerator g, int entries) throws IOException {
            if (!_objectIndenter.isInline()) {
                --_nesting;
            }
            if (entries > 0) {
                _objectIndenter.writeIndentation(g, _nesting);
            }
            g.writeRaw('}');
        }

        @Override
        public void writeEndArray(JsonGenerator g, int values) throws IOException {
            if (!_arrayIndenter.isInline()) {
                --_nesting;
            }
            if (values > 0) {
                _arrayIndenter.writeIndentation(g, _nesting);
            }
            g.writeRaw(']');
        }
    }

    /** The summary as JSON text, ending with a newline. */
    public static String write(Summary s) {
        try {
            return MAPPER.writer(PRETTY).writeValueAsString(s) + "\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Reads a summary file.
     *
     * @throws IOException when it cannot be read or is not a summary (the message says where)
     */
    public static Summary read(Path file) throws IOException {
        return MAPPER.readValue(file.toFile(), Summary.class);
    }

    /** This build's version (Maven's project.version, filtered into version.properties). */
    static String jbtrfsVersion() {
        try (InputStream in = SummaryJson.class.getResourceAsStream("version.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("jbtrfs.version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
