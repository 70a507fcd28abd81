package org.densenet.train.dist;

import java.util.ArrayList;
import java.util.List;

/**
 * Slurm's compact host lists, as in SLURM_JOB_NODELIST: {@code node[01-04,07],gpu-a[1-2]-ib}
 * stands for node01 to node04, node07, gpu-a1-ib and gpu-a2-ib. Ranges keep their zero padding;
 * several bracket groups in one name multiply out, in Slurm's order (the last group fastest).
 */
public final class HostList {
    private HostList() {
    }

    /** The first host, the allocation's master node. */
    public static String first(String list) {
        return expand(list).get(0);
    }

    public static List<String> expand(String list) {
        if (list == null || list.isBlank()) throw new IllegalArgumentException("an empty host list");
        List<String> out = new ArrayList<>();
        for (String item : splitTopLevel(list.strip())) out.addAll(expandItem(item, list));
        return out;
    }

    /** Splits at the commas outside brackets. */
    private static List<String> splitTopLevel(String list) {
        List<String> items = new ArrayList<>();
        int depth = 0, start = 0;
        for (int i = 0; i < list.length(); i++) {
            char c = list.charAt(i);
            if (c == '[') depth++;
            else if (c == ']') depth--;
            else if (c == ',' && depth == 0) {
                items.add(list.substring(start, i));
                start = i + 1;
            }
            if (depth < 0 || depth > 1) throw new IllegalArgumentException("unbalanced brackets in host list " + list);
        }
        if (depth != 0) throw new IllegalArgumentException("unbalanced brackets in host list " + list);
        items.add(list.substring(start));
        for (String s : items) if (s.isBlank()) throw new IllegalArgumentException("an empty name in host list " + list);
        return items;
    }

    private static List<String> expandItem(String item, String list) {
        int open = item.indexOf('[');
        if (open < 0) return List.of(item);
        int close = item.indexOf(']', open);
        String prefix = item.substring(0, open);
        List<String> rest = expandItem(item.substring(close + 1), list);
        List<String> out = new ArrayList<>();
        for (String part : item.substring(open + 1, close).split(",")) {
            for (String n : range(part.strip(), list)) {
                for (String r : rest) out.add(prefix + n + r);
            }
        }
        return out;
    }

    private static List<String> range(String part, String list) {
        String[] ends = part.split("-", -1);
        if (ends.length > 2 || !ends[0].matches("\\d+") || (ends.length == 2 && !ends[1].matches("\\d+"))) {
            throw new IllegalArgumentException("'" + part + "' in host list " + list + " is not a number or a range like 01-04");
        }
        if (ends.length == 1) return List.of(ends[0]);
        long from = Long.parseLong(ends[0]), to = Long.parseLong(ends[1]);
        if (to < from) throw new IllegalArgumentException("range " + part + " in host list " + list + " runs backwards");
        if (to - from > 100_000) throw new IllegalArgumentException("range " + part + " in host list " + list + " is too long");
        int width = ends[0].length();
        List<String> out = new ArrayList<>();
        for (long v = from; v <= to; v++) {
            String s = Long.toString(v);
            out.add(s.length() < width ? "0".repeat(width - s.length()) + s : s);
        }
        return out;
    }
}
