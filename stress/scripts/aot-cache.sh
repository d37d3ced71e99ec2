#!/usr/bin/env bash
# Makes an ahead-of-time cache (JDK 25's JEP 483/514/515) of the stress jar from a training run, so that later runs
# start with its classes loaded and linked and its methods' profiles: more cycles in a run's first seconds, where
# short runs (time-to-find.sh, reproductions) spend much of their time warming up. The kernel has no JIT: that
# warm-up is the harness's cost, not the port's.
# usage: JAVA=/path/to/jdk-25/bin/java stress/scripts/aot-cache.sh [OUT]   (from the repository root, after
#        mvn -B -o -q -pl stress -am package -DskipTests; OUT default: the jar's name with .aot)
# then:  $JAVA -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:AOTCache=OUT -jar stress/target/jbtrfs-stress.jar ...
#        or JAVA=... AOT=OUT stress/scripts/time-to-find.sh ...
# The cache belongs to this jar file (path, size, time) and this JVM: rebuild the jar, make it again.
# env: JAR (default stress/target/jbtrfs-stress.jar), JAVA_OPTS (the flags of the runs that will use it; default the
#      short-run flags, as time-to-find.sh)
set -eu
jar=${JAR:-stress/target/jbtrfs-stress.jar}
out=${1:-${jar%.jar}.aot}
java_bin=${JAVA:-java}
java_opts=${JAVA_OPTS--XX:+UseSerialGC -XX:TieredStopAtLevel=1}
[ -f "$jar" ] || { echo "$jar: no such file (mvn -B -o -q -pl stress -am package -DskipTests)" >&2; exit 2; }
version=$("$java_bin" -XX:+IgnoreUnrecognizedVMOptions -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
if [ -z "$version" ] || [ "$version" -lt 25 ]; then
  echo "$java_bin is Java ${version:-?}: an AOT cache needs JDK 25 or later (JAVA=/path/to/jdk-25/bin/java)" >&2
  exit 2
fi
# the training run: every fix reverted and every fault site, four filesystems, so that the failure paths, the
# classifier and the reports are loaded too; its failures are the point, not an error
"$java_bin" $java_opts -XX:AOTCacheOutput="$out" -jar "$jar" --duration 8 --seed 99 --filesystems 4 \
  --revert all --faults all > "$out.training.log" 2>&1 || true
[ -s "$out" ] || { echo "no cache written; the training run's output: $out.training.log" >&2; exit 1; }
rm -f "$out.training.log"
echo "$out: $(du -h "$out" | cut -f1), for $jar and $("$java_bin" -version 2>&1 | head -1)"
