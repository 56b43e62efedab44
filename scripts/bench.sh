#!/usr/bin/env bash
# Whole-process benchmark: generates a synthetic capture (examples/synth.rs)
# and times finscope on it (wall time, packets/s, peak RSS), once as given
# and once four times longer to show memory stays flat. When tshark or
# tcptrace are installed they run on the same file for comparison.
#
#   scripts/bench.sh [CONNECTIONS] [GAP_US]      (defaults: 200000 50)
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-200000}
gap=${2:-50}
dir=${BENCH_DIR:-$(mktemp -d)}
cargo build --release --quiet --example synth
cargo build --release --quiet
bin=target/release/finscope

measure() { # label command... → "label wall_s peak_kb"
    local label=$1
    shift
    /usr/bin/time -o "$dir/time.txt" -f "%e %M" "$@" >/dev/null 2>&1 || true
    echo "$label $(tail -1 "$dir/time.txt")"
}

printf "%-28s %12s %10s %12s %10s\n" run packets "wall s" "packets/s" "peak MB"
for scale in 1 4; do
    f="$dir/synth-$scale.pcap"
    target/release/examples/synth "$f" $((conns * scale)) 2000 "$gap" 2>"$dir/synth.log"
    packets=$(grep -o '[0-9]* packets' "$dir/synth.log" | cut -d' ' -f1)
    best=""
    for _ in 1 2 3; do
        read -r _ wall rss < <(measure finscope "$bin" analyze --format jsonl "$f")
        if [ -z "$best" ] || awk "BEGIN{exit !($wall < ${best%% *})}"; then best="$wall $rss"; fi
    done
    read -r wall rss <<<"$best"
    printf "%-28s %12s %10s %12.0f %10.0f\n" "finscope jsonl (${scale}x)" "$packets" "$wall" "$(awk "BEGIN{print $packets/$wall}")" "$(awk "BEGIN{print $rss/1024}")"
    if [ "$scale" = 1 ]; then
        if command -v tshark >/dev/null; then
            read -r _ wall rss < <(measure tshark tshark -n -q -r "$f" -z conv,tcp)
            printf "%-28s %12s %10s %12.0f %10.0f\n" "tshark -z conv,tcp" "$packets" "$wall" "$(awk "BEGIN{print $packets/$wall}")" "$(awk "BEGIN{print $rss/1024}")"
        fi
        if command -v tcptrace >/dev/null; then
            read -r _ wall rss < <(measure tcptrace tcptrace -l "$f")
            printf "%-28s %12s %10s %12.0f %10.0f\n" "tcptrace -l" "$packets" "$wall" "$(awk "BEGIN{print $packets/$wall}")" "$(awk "BEGIN{print $rss/1024}")"
        fi
    fi
done
[ -n "${BENCH_DIR:-}" ] || rm -rf "$dir"
