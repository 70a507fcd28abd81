package org.densenet.cli.bench;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;
import org.densenet.engine.io.JsonCodec;

/**
 * The output of one bench run: the {@link RunInfo} header, summary notes (name -> value) and
 * named tables, printed in one of three forms. Text is for people; CSV puts the header and
 * notes in '#' comment lines before each table; JSON is one object {run, title, notes, tables}.
 */
public final class Report {
    public enum Format {
        TEXT, CSV, JSON;

        /** The form --json and --csv ask for ({@link OutputOptions}); both at once is a usage error. */
        static Format of(boolean json, boolean csv) {
            if (json && csv) throw new org.densenet.cli.Main.UsageError("give --json or --csv, not both");
            return json ? JSON : csv ? CSV : TEXT;
        }
    }

    private final RunInfo run;
    private final String title;
    private final Map<String, Object> notes = new LinkedHashMap<>();
    private final Map<String, String> noteText = new LinkedHashMap<>();
    private final Map<String, Table> tables = new LinkedHashMap<>();

    public Report(RunInfo run, String title) {
        this.run = run;
        this.title = title;
    }

    /**
     * A summary value: {@code value} goes to CSV/JSON under {@code key}; {@code text}, a whole line with
     * its label and units, goes to the text form (null: the value is for scripts only).
     */
    public Report note(String key, Object value, String text) {
        notes.put(key, value instanceof Double d && !Double.isFinite(d) ? null : value);
        noteText.put(key, text);
        return this;
    }

    public Report table(String name, Table table) {
        tables.put(name, table);
        return this;
    }

    public Table table(String name) {
        return tables.get(name);
    }

    public Object note(String key) {
        return notes.get(key);
    }

    public void print(PrintStream out, Format format) {
        switch (format) {
            case TEXT -> out.print(toText());
            case CSV -> out.print(toCsv());
            case JSON -> out.println(toJson());
        }
        out.flush();
    }

    public String toText() {
        StringBuilder sb = new StringBuilder();
        for (String line : run.lines()) sb.append(line).append('\n');
        sb.append('\n').append(title).append('\n');
        for (String line : noteText.values()) if (line != null) sb.append("  ").append(line).append('\n');
        for (var e : tables.entrySet()) {
            sb.append('\n').append(e.getKey()).append('\n').append(e.getValue().toText());
        }
        return sb.toString();
    }

    public String toCsv() {
        StringBuilder comments = new StringBuilder();
        for (String line : run.lines()) comments.append("# ").append(line).append('\n');
        comments.append("# ").append(title).append('\n');
        for (var e : notes.entrySet()) comments.append("# ").append(e.getKey()).append(": ").append(csvNote(e.getValue())).append('\n');
        StringBuilder sb = new StringBuilder(comments);
        for (var e : tables.entrySet()) {
            sb.append("# table: ").append(e.getKey()).append('\n').append(e.getValue().toCsv());
        }
        return sb.toString();
    }

    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("run", run.toMap());
        m.put("title", title);
        m.put("notes", notes);
        Map<String, Object> t = new LinkedHashMap<>();
        for (var e : tables.entrySet()) t.put(e.getKey(), e.getValue().toRecords());
        m.put("tables", t);
        return JsonCodec.write(m);
    }

    private static String csvNote(Object v) {
        return v == null ? "" : String.valueOf(v);
    }
}
