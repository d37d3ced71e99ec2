#!/usr/bin/env bash
# Cycles completed in a run's first seconds, for several ways of starting the JVM, alternated per seed: what a
# short run (time-to-find.sh, a reproduction) gets out of its warm-up.
# usage: stress/scripts/first-seconds.sh SECONDS ROUNDS "JAVA COMMAND A" "JAVA COMMAND B" ...
#   e.g. stress/scripts/first-seconds.sh 1 2 "java -XX:+UseSerialGC -XX:TieredStopAtLevel=1" \
#          "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:AOTCache=stress/target/jbtrfs-stress.aot"
#   or two jars: ... "java -XX:+UseSerialGC -jar old.jar" "java -XX:+UseSerialGC -jar new.jar" (a command with its own -jar)
# env: JAR (default stress/target/jbtrfs-stress.jar), CRC (default accelerated), ARGS (default "--filesystems 4"),
#      SEEDS (default "1 2 3 4 5 6")
# prints one line per run (round, seed, command number, cycles), then each command's mean
set -u
secs=$1; rounds=$2; shift 2
jar=${JAR:-stress/target/jbtrfs-stress.jar}
out=$(mktemp)
echo "# $(date -u +%FT%TZ) $(uptime | sed 's/.*load/load/') ${secs}s, ${ARGS:---filesystems 4}, crc32c ${CRC:-accelerated}"
for r in $(seq 1 "$rounds"); do
  for s in ${SEEDS:-1 2 3 4 5 6}; do
    i=0
    for cmd in "$@"; do
      i=$((i + 1))
      # a command naming its own jar ("java ... -jar old.jar") compares jars; the others run $jar
      case " $cmd " in *" -jar "*) run="$cmd" ;; *) run="$cmd -jar $jar" ;; esac
      c=$($run --crc32c "${CRC:-accelerated}" --duration "$secs" --seed "$s" ${ARGS:---filesystems 4} 2>&1 \
        | sed -n 's/^jbtrfs stress: \([0-9]*\) cycles in.*/\1/p')
      echo "$r $s $i ${c:-?}" | tee -a "$out"
    done
  done
done
i=0
for cmd in "$@"; do
  i=$((i + 1))
  awk -v i="$i" -v cmd="$cmd" '$3 == i && $4 != "?" {s += $4; n++} END {printf "command %d: mean %.1f cycles over %d runs  (%s)\n", i, s / n, n, cmd}' "$out"
done
rm -f "$out"
