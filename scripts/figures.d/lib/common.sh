# Sourced by scripts/figures.d/*.sh. before_jar REV DIR — prints the path of the stress jar of revision REV,
# built once in a temporary worktree and kept in DIR (absolute) as before-REV.jar.
before_jar() {
  local rev=$1 raw=$2 jar wt
  jar=$raw/before-$rev.jar
  if [ ! -f "$jar" ]; then
    wt=$(mktemp -d)
    git worktree add --detach "$wt" "$rev" >/dev/null 2>&1 || { echo "cannot check out $rev" >&2; rm -rf "$wt"; return 1; }
    if ! (cd "$wt" && mvn -B -q -o package -DskipTests >"$raw/build-$rev.log" 2>&1 || mvn -B -q package -DskipTests >>"$raw/build-$rev.log" 2>&1); then
      echo "cannot build $rev (see $raw/build-$rev.log)" >&2
      git worktree remove --force "$wt" >/dev/null 2>&1; rm -rf "$wt"
      return 1
    fi
    cp "$wt/stress/target/jbtrfs-stress.jar" "$jar"
    git worktree remove --force "$wt" >/dev/null 2>&1; rm -rf "$wt"
  fi
  echo "$jar"
}

# median of the numbers on stdin (space- or newline-separated); "n/a" for none
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
