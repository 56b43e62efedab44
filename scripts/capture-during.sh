#!/usr/bin/env bash
# capture-during.sh IFACE FILTER OUT.pcap -- COMMAND...
#
# Records IFACE (tcpdump, pcap-filter FILTER) into OUT.pcap while COMMAND
# runs, then stops the capture cleanly and exits with COMMAND's status.
# Needs root or CAP_NET_RAW for tcpdump. Used by the CI jobs in docs/ci.md:
#
#   sudo scripts/capture-during.sh lo 'tcp port 8080' capture.pcap -- make integration-test
#   finscope check capture.pcap
set -uo pipefail

if [ $# -lt 5 ] || [ "$4" != "--" ]; then
    echo "usage: $0 IFACE FILTER OUT.pcap -- COMMAND..." >&2
    exit 2
fi
iface=$1 filter=$2 out=$3
shift 4

log=$(mktemp)
# --immediate-mode hands each packet to tcpdump as it arrives. Without it,
# libpcap on Linux (TPACKET_V3) gets packets a ring block at a time, when
# the block fills or its 1 s timer expires; whatever sits in an unfinished
# block when tcpdump is stopped is lost, and the file does not grow while
# it waits (seen here: a whole connection at the end of a test missing,
# and "0 packets captured" when stopped 50 ms after the traffic).
# -U writes each packet to the file as tcpdump takes it; -s 0 keeps whole
# packets; -n skips name lookups.
# Ahead of the command in the CPU queue where allowed (root): on a busy
# machine a tcpdump that is not scheduled loses what is still in the
# kernel's buffer when it is stopped.
nice=()
if [ "$(id -u)" = 0 ]; then nice=(nice -n -10); fi
"${nice[@]}" tcpdump --immediate-mode -i "$iface" -s 0 -U -n -w "$out" "$filter" 2>"$log" &
pid=$!

# Wait until tcpdump is listening, so the command's first packets are kept.
for _ in $(seq 100); do
    grep -q "listening on" "$log" && break
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "capture-during: tcpdump failed:" >&2
        cat "$log" >&2
        exit 2
    fi
    sleep 0.1
done

"$@"
status=$?

# Let the last packets (final ACKs, TIME-WAIT traffic) reach the capture:
# half a second, then until the file stops growing (tcpdump -U writes each
# packet as it takes it), at most 10 s more.
sleep 0.5
last=-1
for _ in $(seq 50); do
    size=$(stat -c %s "$out" 2>/dev/null || echo 0)
    [ "$size" = "$last" ] && break
    last=$size
    sleep 0.2
done
kill -INT "$pid"
wait "$pid"
grep -E "packets (captured|dropped)" "$log" >&2
rm -f "$log"
exit "$status"
