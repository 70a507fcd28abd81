package org.densenet.cli.bench;

import picocli.CommandLine.Option;

/** How a bench subcommand prints its report: text tables, or --json / --csv for scripts. */
final class OutputOptions {
    @Option(names = "--json", description = "Print one JSON object instead of tables.")
    boolean json;

    @Option(names = "--csv", description = "Print CSV (the run header and summary as '#' comment lines) instead of tables.")
    boolean csv;

    Report.Format format() {
        return Report.Format.of(json, csv);
    }
}
