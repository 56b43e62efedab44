#!/usr/bin/env bash
# Whole-process benchmark, one command:
#
#   scripts/bench.sh [CONNECTIONS] [GAP_US]      (defaults: 500000 40)
#
# Generates a synthetic capture with examples/synth.rs (CONNECTIONS short
# connections, 2000 open at once, bulk TSO transfers with loss, TIME-WAIT
# reuse; about 5.9M packets at the defaults), then in one run, on the same
# file: finscope on one thread and on every core (best of 5 each, and
# their median), a plain libpcap read (tcpdump -r FILE -w /dev/null: the
# floor any libpcap-based tool sits on), tshark -z conv,tcp and tcptrace -l when installed (once
# each: they take a minute). Then finscope again on the same traffic four
# times longer, to show memory stays flat. Each run reads the file from a
# warm page cache, after it is on disk. Prints wall time, packets/s, peak
# RSS and each run's time relative to finscope on one thread, as a Markdown
# table. Install the others with: apt-get install tcpdump tshark tcptrace
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-500000}
gap=${2:-40}
dir=${BENCH_DIR:-$(mktemp -d)}
cores=$(nproc)
cargo build --release --quiet --example synth
cargo build --release --quiet
bin=target/release/finscope

# measure CMD... → sets wall (s) and rss (KB); output to /dev/null.
measure() {
    /usr/bin/time -o "$dir/time.txt" -f "%e %M" "$@" >/dev/null 2>"$dir/stderr.txt" || true
    read -r wall rss < <(tail -1 "$dir/time.txt")
    med=$wall
}
# best_of N CMD... → wall: the fastest of N runs, med: their median, rss:
# the largest peak of them (a shared VM's speed moves from one minute to
# the next; its memory does not).
best_of() {
    local n=$1 walls="" br=0
    shift
    for _ in $(seq "$n"); do
        measure "$@"
        walls="$walls $wall"
        [ "$rss" -gt "$br" ] && br=$rss
    done
    wall=$(echo $walls | tr ' ' '\n' | sort -n | head -1)
    med=$(echo $walls | tr ' ' '\n' | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}')
    rss=$br
}
base1="" basen=""
# 1234567 → 1,234,567 (whatever the locale)
commas() { echo "$1" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta'; }
row() { # label packets [ratios] → one table row, from $wall and $rss
    local pps r1="" rn=""
    pps=$(awk "BEGIN{printf \"%.2f M\", $2/$wall/1e6}")
    if [ "${3:-ratios}" = ratios ]; then
        r1=$(awk "BEGIN{printf \"%.1fx\", $wall/$base1}")
        rn=$(awk "BEGIN{printf \"%.1fx\", $wall/${basen:-$base1}}")
    fi
    printf "| %s | %s | %s | %s | %s | %s MB | %s | %s |\n" "$1" "$(commas "$2")" "$wall" "$med" "$pps" \
        "$(commas "$(awk "BEGIN{printf \"%.0f\", $rss/1024}")")" "$r1" "$rn"
}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $cores cores, $(uname -sr)"
echo
echo "| run | packets | wall s (best) | median s | packets/s (best) | peak RSS | time ÷ finscope -j 1 | time ÷ finscope -j $cores |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
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
    best_of 5 "$bin" analyze --format jsonl --threads 1 "$f"
    wall1=$wall rss1=$rss med1=$med
    if [ "$cores" -gt 1 ]; then
        best_of 5 "$bin" analyze --format jsonl --threads "$cores" "$f"
    fi
    walln=$wall rssn=$rss medn=$med
    ratios=ratios
    if [ "$scale" = 1 ]; then base1=$wall1 basen=$walln; else ratios=none; fi
    wall=$wall1 rss=$rss1 med=$med1
    row "finscope \`--format jsonl -j 1\`$tag" "$packets" $ratios
    if [ "$cores" -gt 1 ]; then
        wall=$walln rss=$rssn med=$medn
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
[ -n "${BENCH_DIR:-}" ] || rm -rf "$dir"
