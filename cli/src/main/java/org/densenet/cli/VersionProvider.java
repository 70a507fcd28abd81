package org.densenet.cli;

import picocli.CommandLine;

/** The version and commit from the build ({@link BuildInfo}), with the Java runtime running it. */
final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        BuildInfo build = BuildInfo.ofThisJar();
        return new String[] {"densenet " + build.version() + " (commit " + build.commit() + ")",
                "Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"};
    }
}
