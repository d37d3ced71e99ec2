# Sourced by the measurement scripts: which java runs the jar, and with which flags.
# env: JAVA the java launcher (default: java on the PATH)
#      JAVA_OPTS flags for the JVM (unset: the short-run flags "-XX:+UseSerialGC -XX:TieredStopAtLevel=1"; README,
#                "JVM flags"; JAVA_OPTS= for the JVM's defaults)
#      AOT an ahead-of-time cache of the jar (JDK 25 or later; made by stress/scripts/aot-cache.sh): adds
#          -XX:AOTCache=$AOT. The cache holds the classes loaded and linked and the method profiles of a training run,
#          so a run's first second is not spent loading and warming up (README, "A faster first second").
# sets: java_bin, java_opts
java_bin=${JAVA:-java}
java_opts=${JAVA_OPTS--XX:+UseSerialGC -XX:TieredStopAtLevel=1}
if [ -n "${AOT:-}" ]; then
  if [ ! -f "$AOT" ]; then
    echo "AOT=$AOT: no such file (stress/scripts/aot-cache.sh makes it)" >&2
    exit 2
  fi
  # -XX:AOTMode=on: a cache that does not match the jar or the JVM is an error, not a silent cold start
  java_opts="$java_opts -XX:AOTMode=on -XX:AOTCache=$AOT"
fi
