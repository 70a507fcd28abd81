package org.densenet.cli.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Rows of typed cells (String, Integer, Long, Double; null for "not applicable") rendered as an
 * aligned text table for people, or as CSV / JSON records for scripts. Numbers keep full
 * precision in CSV and JSON; the text form rounds them with each column's format.
 */
public final class Table {
    /**
     * @param key    name in CSV headers and JSON records (snake_case)
     * @param header name in the text table; null for a column that only CSV and JSON carry
     * @param format String.format pattern for numbers in the text table, e.g. "%.3f"; null for strings
     */
    public record Column(String key, String header, String format) {
        public Column {
            if (key == null || key.isBlank()) throw new IllegalArgumentException("a column needs a key");
        }
    }

    private final List<Column> columns;
    private final List<Object[]> rows = new ArrayList<>();
    private int groupColumn = -1;

    public Table(List<Column> columns) {
        if (columns.isEmpty()) throw new IllegalArgumentException("a table needs columns");
        this.columns = List.copyOf(columns);
    }

    /** In the text form, rows are shown under a heading per run of equal values of this column, which is then not repeated. */
    public Table groupedBy(String key) {
        for (int i = 0; i < columns.size(); i++) {
            if (columns.get(i).key().equals(key)) {
                groupColumn = i;
                return this;
            }
        }
        throw new IllegalArgumentException("no column " + key);
    }

    public void add(Object... cells) {
        if (cells.length != columns.size()) {
            throw new IllegalArgumentException("row has " + cells.length + " cells, table has " + columns.size() + " columns");
        }
        rows.add(cells.clone());
    }

    public List<Column> columns() {
        return columns;
    }

    public int size() {
        return rows.size();
    }

    public Object cell(int row, String key) {
        for (int i = 0; i < columns.size(); i++) if (columns.get(i).key().equals(key)) return rows.get(row)[i];
        throw new IllegalArgumentException("no column " + key);
    }

    public String toText() {
        int n = columns.size();
        String[][] text = new String[rows.size()][n];
        int[] width = new int[n];
        for (int c = 0; c < n; c++) width[c] = columns.get(c).header() == null ? 0 : columns.get(c).header().length();
        for (int r = 0; r < rows.size(); r++) {
            for (int c = 0; c < n; c++) {
                text[r][c] = formatText(rows.get(r)[c], columns.get(c).format());
                width[c] = Math.max(width[c], text[r][c].length());
            }
        }
        StringBuilder sb = new StringBuilder();
        appendLine(sb, headers(), width);
        String previousGroup = null;
        for (int r = 0; r < rows.size(); r++) {
            if (groupColumn >= 0 && !text[r][groupColumn].equals(previousGroup)) {
                previousGroup = text[r][groupColumn];
                sb.append("-- ").append(previousGroup.isEmpty() ? "(no scope)" : previousGroup).append('\n');
            }
            appendLine(sb, text[r], width);
        }
        return sb.toString();
    }

    public String toCsv() {
        StringBuilder sb = new StringBuilder();
        for (int c = 0; c < columns.size(); c++) {
            if (c > 0) sb.append(',');
            sb.append(columns.get(c).key());
        }
        sb.append('\n');
        for (Object[] row : rows) {
            for (int c = 0; c < row.length; c++) {
                if (c > 0) sb.append(',');
                sb.append(csvCell(row[c]));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /** One map per row, keyed by column key, for {@link org.densenet.engine.io.JsonCodec#write}; NaN and infinities become null. */
    public List<Map<String, Object>> toRecords() {
        List<Map<String, Object>> out = new ArrayList<>(rows.size());
        for (Object[] row : rows) {
            Map<String, Object> m = new LinkedHashMap<>();
            for (int c = 0; c < row.length; c++) m.put(columns.get(c).key(), jsonValue(row[c]));
            out.add(m);
        }
        return out;
    }

    private String[] headers() {
        String[] h = new String[columns.size()];
        for (int c = 0; c < h.length; c++) h[c] = columns.get(c).header();
        return h;
    }

    private void appendLine(StringBuilder sb, String[] cells, int[] width) {
        StringBuilder line = new StringBuilder();
        for (int c = 0; c < cells.length; c++) {
            if (c == groupColumn || columns.get(c).header() == null) continue;
            if (!line.isEmpty()) line.append("  ");
            boolean left = columns.get(c).format() == null;
            String pad = " ".repeat(width[c] - cells[c].length());
            line.append(left ? cells[c] + pad : pad + cells[c]);
        }
        sb.append(line.toString().stripTrailing()).append('\n');
    }

    static String formatText(Object v, String format) {
        if (v == null) return "-";
        if (v instanceof Double d && !Double.isFinite(d)) return "-";
        if (format != null && v instanceof Number) return String.format(Locale.ROOT, format, v);
        return String.valueOf(v);
    }

    private static String csvCell(Object v) {
        Object j = jsonValue(v);
        if (j == null) return "";
        String s = String.valueOf(j);
        if (s.indexOf(',') >= 0 || s.indexOf('"') >= 0 || s.indexOf('\n') >= 0) return '"' + s.replace("\"", "\"\"") + '"';
        return s;
    }

    private static Object jsonValue(Object v) {
        if (v instanceof Double d && !Double.isFinite(d)) return null;
        return v;
    }
}
