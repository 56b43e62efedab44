#!/usr/bin/env bash
# Whole-process benchmark, one command:
#
#   scripts/bench.sh [CONNECTIONS] [GAP_US]      (defaults: 500000 40)
#
# Generates a synthetic capture with examples/synth.rs (CONNECTIONS short
# connections, 2000 open at once, bulk TSO transfers with loss, TIME-WAIT
# reuse; about 5.9M packets at the defaults), then in one run, on the same
# file: finscope on one thread and on every core (7 runs each, taken in
# alternation, best and median of each; the speedup is also the median of
# the 7 back-to-back pairs), a plain libpcap read (tcpdump -r FILE -w /dev/null: the
# floor any libpcap-based tool sits on), tshark -z conv,tcp and tcptrace -l when installed (once
# each: they take a minute). Then finscope again on the same traffic four
# times longer, to show memory stays flat. Each run reads the file from a
# warm page cache, after it is on disk. Prints wall time, CPU time (user +
# sys), the CPU time the hypervisor stole from the VM meanwhile (on a
# shared VM that is what makes one run slower than the next), packets/s,
# peak RSS and each run's time relative to finscope on one thread, as a
# Markdown table. Install the others with: apt-get install tcpdump tshark tcptrace
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-500000}
gap=${2:-40}
dir=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$dir"
cores=$(nproc)
cargo build --release --quiet --example synth
cargo build --release --quiet
bin=target/release/finscope

# stolen → CPU seconds the hypervisor has taken from this VM so far, all
# cores together (/proc/stat's steal column, in USER_HZ ticks).
stolen() { awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" {printf "%.2f", $9 / hz; exit}' /proc/stat; }
# measure CMD... → sets wall (s), cpu (user + sys, s), steal (s taken by
# the hypervisor meanwhile, on any core) and rss (KB); output to /dev/null.
# On a shared VM the wall time is the CPU time plus whatever the
# hypervisor took: steal is what makes one run slower than the next.
measure() {
    local s0
    s0=$(stolen)
    /usr/bin/time -o "$dir/time.txt" -f "%e %U %S %M" "$@" >/dev/null 2>"$dir/stderr.txt" || true
    read -r wall user sys rss < <(tail -1 "$dir/time.txt")
    cpu=$(awk "BEGIN{printf \"%.2f\", $user + $sys}")
    steal=$(awk "BEGIN{printf \"%.2f\", $(stolen) - $s0}")
    med=$wall
}
# lt A B → whether the number A is below B (bash compares integers only).
lt() { awk "BEGIN{exit !($1 < $2)}"; }
# pick "T1 T2 ..." best|med → the smallest of the numbers, or their median.
pick() { echo $1 | tr ' ' '\n' | sort -n | awk -v w="$2" '{v[NR]=$1} END{print (w=="best") ? v[1] : v[int((NR+1)/2)]}'; }
# best_of N CMD... → wall: the fastest of N runs, med: their median, cpu:
# the median CPU time, steal: what was stolen during the fastest run, rss:
# the largest peak of them (a shared VM's speed moves from one minute to
# the next; its memory does not).
best_of() {
    local n=$1 walls="" cpus="" br=0 bw="" bs=0
    shift
    for _ in $(seq "$n"); do
        measure "$@"
        walls="$walls $wall" cpus="$cpus $cpu"
        [ "$rss" -gt "$br" ] && br=$rss
        if [ -z "$bw" ] || lt "$wall" "$bw"; then bw=$wall bs=$steal; fi
    done
    wall=$(pick "$walls" best) med=$(pick "$walls" med) cpu=$(pick "$cpus" med) steal=$bs rss=$br
}
# pairs N CMD1 -- CMD2 → runs CMD1 and CMD2 alternately N times, so that
# both see the same moments of a shared machine; sets wall1/med1/cpu1/
# steal1/rss1 and walln/... as best_of does, and speedup: the median over
# the pairs of CMD1's time over CMD2's. quiet_speedup is that median over
# the quiet pairs only: those where the hypervisor took less than 2% of
# the machine's CPU time during both runs (quiet: how many; the median
# is "none" when no pair was).
pairs() {
    local n=$1 w1="" wn="" c1="" cn="" r="" q="" b1=0 bn=0 a=() b=() bw1="" bwn="" bs1=0 bsn=0
    local one onesteal pair
    shift
    while [ "$1" != -- ]; do a+=("$1"); shift; done
    shift
    b=("$@")
    quiet=0
    for _ in $(seq "$n"); do
        measure "${a[@]}"
        w1="$w1 $wall" c1="$c1 $cpu" one=$wall onesteal=$steal
        [ "$rss" -gt "$b1" ] && b1=$rss
        if [ -z "$bw1" ] || lt "$wall" "$bw1"; then bw1=$wall bs1=$steal; fi
        measure "${b[@]}"
        wn="$wn $wall" cn="$cn $cpu"
        [ "$rss" -gt "$bn" ] && bn=$rss
        if [ -z "$bwn" ] || lt "$wall" "$bwn"; then bwn=$wall bsn=$steal; fi
        # (A run that took under 10 ms counts as 10 ms: no division by 0.)
        pair=$(awk "BEGIN{w = $wall > 0.01 ? $wall : 0.01; printf \"%.3f\", $one/w}")
        r="$r $pair"
        if lt "$onesteal" "0.02 * $one * $cores" && lt "$steal" "0.02 * $wall * $cores"; then
            q="$q $pair" quiet=$((quiet + 1))
        fi
    done
    wall1=$(pick "$w1" best) med1=$(pick "$w1" med) cpu1=$(pick "$c1" med) steal1=$bs1 rss1=$b1
    walln=$(pick "$wn" best) medn=$(pick "$wn" med) cpun=$(pick "$cn" med) stealn=$bsn rssn=$bn
    speedup=$(pick "$r" med) speedup_lo=$(pick "$r" best) speedup_hi=$(echo $r | tr ' ' '\n' | sort -n | tail -1)
    quiet_speedup=none
    [ "$quiet" -eq 0 ] || quiet_speedup=$(pick "$q" med)
}
base1="" basen="" basecpu=""
# 1234567 → 1,234,567 (whatever the locale)
commas() { echo "$1" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta'; }
# ratio A B → "A/Bx" to one decimal, or "-" when B rounds to 0 s (a tiny
# capture), where awk would stop the script dividing by zero.
ratio() { awk "BEGIN{if ($2 > 0) printf \"%.1fx\", $1/$2; else printf \"-\"}"; }
row() { # label packets [ratios] → one table row, from $wall, $med, $cpu, $steal and $rss
    local pps r1="" rc="" rn=""
    pps=$(awk "BEGIN{if ($wall > 0) printf \"%.2f M\", $2/$wall/1e6; else printf \"-\"}")
    if [ "${3:-ratios}" = ratios ]; then
        r1=$(ratio "$wall" "$base1")
        rc=$(ratio "$cpu" "$basecpu")
        rn=$(ratio "$wall" "${basen:-$base1}")
    fi
    printf "| %s | %s | %s | %s | %s | %s | %s | %s MB | %s | %s | %s |\n" "$1" "$(commas "$2")" "$wall" "$med" \
        "$cpu" "$steal" "$pps" "$(commas "$(awk "BEGIN{printf \"%.0f\", $rss/1024}")")" "$r1" "$rc" "$rn"
}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $cores cores, $(uname -sr)"
# What was measured: the build (with "-dirty" when the tree has changes)
# and the other tools' versions, so a table says what produced it.
build=$(git describe --always --dirty 2>/dev/null || echo unknown)
echo "build: finscope $build, $(date -u +%Y-%m-%d)"
# (Each pipeline ends in "|| true": tcptrace -v exits 1, and head may
# leave the others to a SIGPIPE, which pipefail would make fatal.)
versions=""
if command -v tcpdump >/dev/null; then
    versions="$versions, $(tcpdump --version 2>&1 | head -1 || true)"
fi
if command -v tshark >/dev/null; then
    versions="$versions, $(tshark --version 2>/dev/null | head -1 | cut -d' ' -f1-3 || true)"
fi
if command -v tcptrace >/dev/null; then
    versions="$versions, tcptrace $(tcptrace -v 2>&1 | grep -o 'version [0-9.]*' | head -1 || true)"
fi
[ -z "$versions" ] || echo "tools: ${versions#, }"
echo
echo "| run | packets | wall s (best) | median s | CPU s | stolen s | packets/s (best) | peak RSS | time ÷ finscope -j 1 | CPU ÷ finscope -j 1 | time ÷ finscope -j $cores |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for scale in 1 4; do
    f="$dir/synth-$scale.pcap"
    target/release/examples/synth "$f" $((conns * scale)) 2000 "$gap" 2>"$dir/synth.log"
    packets=$(grep -o '[0-9]* packets' "$dir/synth.log" | cut -d' ' -f1)
    # Every run reads the file from the page cache, with nothing of it
    # still being written back: the generator's writes would otherwise
    # compete with the first runs (on a VM, by seconds).
    sync
    cat "$f" >/dev/null
    tag=""
    [ "$scale" = 1 ] || tag=", 4x longer"
    # Both finscope runs first: every row's ratios need both times.
    if [ "$cores" -gt 1 ]; then
        pairs 7 "$bin" analyze --format jsonl --threads 1 "$f" -- \
            "$bin" analyze --format jsonl --threads "$cores" "$f"
        if [ "$scale" = 1 ]; then
            speedup1="$speedup ($speedup_lo-$speedup_hi; $quiet quiet pairs: $quiet_speedup)"
        else
            speedup4="$speedup ($speedup_lo-$speedup_hi; $quiet quiet pairs: $quiet_speedup)"
        fi
    else
        best_of 7 "$bin" analyze --format jsonl --threads 1 "$f"
        wall1=$wall rss1=$rss med1=$med cpu1=$cpu steal1=$steal
        walln=$wall rssn=$rss medn=$med cpun=$cpu stealn=$steal
    fi
    ratios=ratios
    if [ "$scale" = 1 ]; then base1=$wall1 basen=$walln basecpu=$cpu1; else ratios=none; fi
    wall=$wall1 rss=$rss1 med=$med1 cpu=$cpu1 steal=$steal1
    row "finscope \`--format jsonl -j 1\`$tag" "$packets" $ratios
    if [ "$cores" -gt 1 ]; then
        wall=$walln rss=$rssn med=$medn cpu=$cpun steal=$stealn
        row "finscope \`--format jsonl -j $cores\`$tag" "$packets" $ratios
    fi
    if [ "$scale" = 1 ]; then
        if command -v tcpdump >/dev/null; then
            best_of 5 tcpdump -r "$f" -w /dev/null
            row "libpcap read (\`tcpdump -r F -w /dev/null\`)" "$packets"
        fi
        if command -v tshark >/dev/null; then
            measure tshark -n -q -r "$f" -z conv,tcp
            row "tshark \`-q -z conv,tcp\`" "$packets"
        fi
        if command -v tcptrace >/dev/null; then
            measure tcptrace -n -l "$f"
            row "tcptrace \`-n -l\`" "$packets"
        fi
    fi
    rm -f "$f"
done
if [ "$cores" -gt 1 ]; then
    echo
    echo "finscope -j 1 time ÷ -j $cores time, median of 7 back-to-back pairs (lowest-highest; the median over the quiet pairs, those where the hypervisor took under 2% of the machine's CPU time in both runs): ${speedup1:-?}; 4x longer: ${speedup4:-?}"
fi
[ -n "${BENCH_DIR:-}" ] || rm -rf "$dir"
