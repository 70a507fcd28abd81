# Sourced by bin/make-bundle.sh and bin/make-gpu-kit.sh: lays out the runnable CLI in a folder,
#     STAGE/lib/densenet.jar   the shaded jar, trimmed to the JNI library it uses
#     STAGE/lib/libturbojpeg.so.0  libjpeg-turbo's TurboJPEG, the ImageNet loader's JPEG decoder, for
#                              servers without it (a system copy, when there is one, is used first);
#                              its licence beside it (BSD-style: IJG, Modified BSD, zlib)
#     STAGE/runtime/           a Java 25 runtime made by jlink, with a font for charts
#     STAGE/bin/densenet       the launcher
# so that it runs on a Linux x86-64 server without Java. Sourcing it sets JAVA_HOME to a JDK 25
# (bin/find-jdk25.sh); stage_cli needs a built cli/target/densenet.jar (run from the repository root).
#
# stage_cli STAGE [CLASSPATH_ENTRY...]
#   Extra entries (jars or class folders that will run on the same runtime, e.g. tests and their
#   launcher) add the modules they need to the runtime. JLINK_COMPRESS picks jlink's compression
#   (default zip-6; zip-0 when an archive compresses the runtime again).
# shellcheck source=bin/find-jdk25.sh
source "$(dirname "${BASH_SOURCE[0]}")/find-jdk25.sh"
JAVA_HOME="$(find_jdk25)"
export JAVA_HOME

stage_cli() {
  local stage="$1"
  shift
  local jar="cli/target/densenet.jar"
  [ -f "$jar" ] || { echo "error: $jar is missing; build it with ./mvnw -DskipTests package" >&2; return 1; }
  rm -rf "$stage"
  mkdir -p "$stage/bin" "$stage/lib"

  # Only the driver-API natives are used (cuDNN and cuBLAS go through FFM): drop JCuda's runtime,
  # NVRTC and PTX-compiler JNI libraries, 25 MB of the jar's 26 MB of natives.
  cp "$jar" "$stage/lib/densenet.jar"
  zip -q -d "$stage/lib/densenet.jar" 'lib/libJNvPTXCompiler-*' 'lib/libJNvrtc-*' 'lib/libJCudaRuntime-*' >/dev/null 2>&1 || true
  unzip -l "$stage/lib/densenet.jar" 'lib/libJCudaDriver-*-linux-x86_64.so' >/dev/null \
    || { echo "error: the jar holds no lib/libJCudaDriver-*-linux-x86_64.so (jcuda-natives missing from the shaded jar)" >&2; return 1; }

  # Modules the code needs, as jdeps sees them, plus the ones reached by reflection or at run time:
  # java.management (memory and thread reports), jdk.crypto.ec (HTTPS dataset downloads),
  # jdk.incubator.vector when any class uses it, jdk.unsupported (libraries using sun.misc).
  local modules extra entry
  modules="$("$JAVA_HOME/bin/jdeps" --multi-release 25 --ignore-missing-deps --print-module-deps "$stage/lib/densenet.jar")"
  for entry in "$@"; do
    modules="$modules,$("$JAVA_HOME/bin/jdeps" --multi-release 25 --ignore-missing-deps --print-module-deps "$entry")"
  done
  extra="java.management,jdk.crypto.ec,jdk.unsupported,jdk.zipfs"
  if unzip -p "$stage/lib/densenet.jar" 'org/densenet/*' 2>/dev/null | grep -aq 'jdk/incubator/vector'; then
    extra="$extra,jdk.incubator.vector"
  fi
  modules="$(printf '%s' "$modules,$extra" | tr ',' '\n' | sort -u | paste -sd, -)"
  echo "runtime modules: $modules"
  "$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages \
    --compress "${JLINK_COMPRESS:-zip-6}" --output "$stage/runtime"

  stage_fonts "$stage/runtime"
  stage_turbojpeg "$stage/lib"

  cat > "$stage/bin/densenet" <<'LAUNCHER'
#!/bin/sh
# Launcher of the bundled DenseNet engine: the bundled Java runtime runs the bundled jar.
# DENSENET_JAVA_OPTS adds JVM options (e.g. -Xmx64g, -Ddensenet.cuda.tf32=true). The heap may grow to
# 75% of the machine's memory (the JVM's default is 25%): the CPU backend keeps tensors there.
self="$0"
while [ -h "$self" ]; do
  link="$(readlink "$self")"
  case "$link" in /*) self="$link" ;; *) self="$(dirname "$self")/$link" ;; esac
done
home="$(cd "$(dirname "$self")/.." && pwd)"
# shellcheck disable=SC2086
exec "$home/runtime/bin/java" --enable-native-access=ALL-UNNAMED -XX:MaxRAMPercentage=75 ${DENSENET_JAVA_OPTS:-} -jar "$home/lib/densenet.jar" "$@"
LAUNCHER
  chmod +x "$stage/bin/densenet"
}

# Charts (training curves, bench memory) draw text through java.awt, which fails with "Fontconfig
# head is null" on a server without fonts, as many GPU images are. The JDK falls back to
# lib/fontconfig.properties when fontconfig finds nothing, so DejaVu Sans from this machine goes
# into the runtime with a properties file mapping every logical font to it. Best effort: without
# DejaVu here, charts need fonts on the server.
stage_fonts() {
  local runtime="$1" dir style font
  for dir in /usr/share/fonts/truetype/dejavu /usr/share/fonts/dejavu /usr/share/fonts/TTF /usr/share/fonts/dejavu-sans-fonts; do
    [ -f "$dir/DejaVuSans.ttf" ] && [ -f "$dir/DejaVuSans-Bold.ttf" ] && break
    dir=""
  done
  if [ -z "$dir" ]; then
    echo "note: DejaVuSans.ttf not found on this machine; the runtime's charts will need fonts on the server" >&2
    return 0
  fi
  mkdir -p "$runtime/lib/fonts"
  cp "$dir/DejaVuSans.ttf" "$dir/DejaVuSans-Bold.ttf" "$runtime/lib/fonts/"
  [ -f /usr/share/doc/fonts-dejavu-core/copyright ] && cp /usr/share/doc/fonts-dejavu-core/copyright "$runtime/lib/fonts/DejaVu-LICENSE"
  {
    echo "version=1"
    echo "sequence.allfonts=latin-1"
    for font in serif sansserif monospaced dialog dialoginput; do
      for style in plain italic; do echo "$font.$style.latin-1=DejaVu Sans"; done
      for style in bold bolditalic; do echo "$font.$style.latin-1=DejaVu Sans Bold"; done
    done
    echo 'filename.DejaVu_Sans=$JRE_LIB_FONTS/DejaVuSans.ttf'
    echo 'filename.DejaVu_Sans_Bold=$JRE_LIB_FONTS/DejaVuSans-Bold.ttf'
  } >"$runtime/lib/fontconfig.properties"
}

# The ImageNet loader decodes JPEGs with libjpeg-turbo's TurboJPEG (libturbojpeg.so.0, which needs
# only libc); the program looks beside its jar after the loader path and before the system folders,
# so a server without Debian's libturbojpeg0 still gets it. Its licence is BSD-style (the IJG
# License, the Modified (3-clause) BSD License and the zlib License: libjpeg-turbo's LICENSE.md),
# which allows redistribution in binary form with the notices: Debian's copyright file goes along.
# Best effort: without the library here, servers need their own (or fall back to javax.imageio).
stage_turbojpeg() {
  local lib="$1" so version
  so="$({ ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true; } | awk '/libturbojpeg\.so\.0 .*x86-64/ {print $NF; exit}')"
  [ -n "$so" ] || so=/usr/lib/x86_64-linux-gnu/libturbojpeg.so.0
  if [ ! -f "$so" ]; then
    echo "note: libturbojpeg.so.0 not found on this machine (apt-get install libturbojpeg0); the bundle will decode JPEGs with" \
      "the server's libturbojpeg, else javax.imageio" >&2
    return 0
  fi
  cp -L "$so" "$lib/libturbojpeg.so.0"
  version="$(dpkg-query -W -f='${Version}' libturbojpeg0 2>/dev/null || echo unknown)"
  {
    echo "lib/libturbojpeg.so.0: libjpeg-turbo's TurboJPEG library, copied from $(readlink -f "$so") (Debian package libturbojpeg0 $version)."
    echo "Licence: BSD-style, the IJG License, the Modified (3-clause) BSD License and the zlib License"
    echo "(https://github.com/libjpeg-turbo/libjpeg-turbo/blob/main/LICENSE.md). This software is based in part on the work of"
    echo "the Independent JPEG Group. Debian's copyright file follows."
    echo
    if [ -f /usr/share/doc/libturbojpeg0/copyright ]; then cat /usr/share/doc/libturbojpeg0/copyright; fi
  } >"$lib/libturbojpeg.LICENSE.txt"
  echo "bundled $(readlink -f "$so") as lib/libturbojpeg.so.0 (libjpeg-turbo $version, licence in lib/libturbojpeg.LICENSE.txt)"
}
