# Sourced by ./mvnw, ./densenet and .ci/run. Prints the home of a JDK >= 25, or explains and fails.
java_major() {  # $1 = a java executable
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n 1
}
find_jdk25() {
  local cand major
  for cand in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*25* /usr/lib/jvm/* /opt/*jdk* /opt/java/*; do
    [ -n "$cand" ] && [ -x "$cand/bin/javac" ] || continue
    major="$(java_major "$cand/bin/java")"
    if [ -n "$major" ] && [ "${major%%.*}" -ge 25 ] 2>/dev/null; then
      echo "$cand"
      return 0
    fi
  done
  echo "error: no JDK 25 found (looked at \$JAVA_HOME, /usr/lib/jvm/*, /opt/*jdk*). Install a JDK 25 (e.g. Temurin 25) or set JAVA_HOME to one." >&2
  return 1
}
