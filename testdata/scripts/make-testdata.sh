#!/usr/bin/env bash
# Records the captures in testdata/ from real Linux TCP stacks.
#
# Each scenario runs a client and a server (tcpapp.py) in two network
# namespaces joined by a veth pair, captures with tcpdump (or dumpcap for
# pcapng) on the server's side, and uses nftables where packets must be
# dropped. Nothing leaves the namespaces this script creates.
#
# Needs root, iproute2, tcpdump, nftables and python3; dumpcap (Debian's
# tshark package) for the pcapng. Usage: sudo testdata/scripts/make-testdata.sh [SCENARIO...]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$here/.." && pwd)
app="python3 $here/tcpapp.py"
CLI=fs-td-cli SRV=fs-td-srv RTR=fs-td-rtr
PORT=8080

cleanup() {
    for ns in $CLI $SRV $RTR; do ip netns pids $ns 2>/dev/null | xargs -r kill 2>/dev/null || true; done
    sleep 0.2
    for ns in $CLI $SRV $RTR; do ip netns del $ns 2>/dev/null || true; done
}
trap cleanup EXIT

# client 10.77.0.1 / fd77::1  <->  server 10.77.0.2 / fd77::2
setup_pair() {
    cleanup
    ip netns add $CLI
    ip netns add $SRV
    ip link add veth-c netns $CLI type veth peer name veth-s netns $SRV
    ip -n $CLI addr add 10.77.0.1/24 dev veth-c
    ip -n $SRV addr add 10.77.0.2/24 dev veth-s
    ip -n $CLI -6 addr add fd77::1/64 dev veth-c nodad
    ip -n $SRV -6 addr add fd77::2/64 dev veth-s nodad
    for ns in $CLI $SRV; do ip -n $ns link set lo up; done
    ip -n $CLI link set veth-c up
    ip -n $SRV link set veth-s up
}

# client 10.77.1.1 <-> router 10.77.1.254 | 10.77.2.254 <-> server 10.77.2.2
setup_routed() {
    cleanup
    ip netns add $CLI
    ip netns add $SRV
    ip netns add $RTR
    ip link add veth-c netns $CLI type veth peer name veth-r1 netns $RTR
    ip link add veth-s netns $SRV type veth peer name veth-r2 netns $RTR
    ip -n $CLI addr add 10.77.1.1/24 dev veth-c
    ip -n $RTR addr add 10.77.1.254/24 dev veth-r1
    ip -n $RTR addr add 10.77.2.254/24 dev veth-r2
    ip -n $SRV addr add 10.77.2.2/24 dev veth-s
    for ns in $CLI $SRV $RTR; do ip -n $ns link set lo up; done
    ip -n $CLI link set veth-c up
    ip -n $SRV link set veth-s up
    ip -n $RTR link set veth-r1 up
    ip -n $RTR link set veth-r2 up
    ip -n $CLI route add default via 10.77.1.254
    ip -n $SRV route add default via 10.77.2.254
    ip netns exec $RTR sysctl -qw net.ipv4.ip_forward=1
}

start_server() { # mode host
    local fifo
    fifo=$(mktemp -u)
    mkfifo "$fifo"
    ip netns exec $SRV $app server "$1" "$2" $PORT >"$fifo" &
    read -r _ <"$fifo"
    rm -f "$fifo"
}

# start_capture NS FILE TOOL ARGS...: starts the capture and waits until
# it is listening.
start_capture() {
    local ns=$1 file=$2
    shift 2
    local log
    log=$(mktemp)
    ip netns exec "$ns" "$@" -w "$file" >"$log" 2>&1 &
    CAP_PID=$!
    for _ in $(seq 50); do
        grep -qi "listening\|capturing" "$log" && break
        sleep 0.1
    done
    sleep 0.2
    rm -f "$log"
}

stop_capture() {
    sleep "${1:-0.5}"
    kill -INT "$CAP_PID" 2>/dev/null || true
    wait "$CAP_PID" 2>/dev/null || true
}

tcpdump_on() { # iface [extra...]
    local ifc=$1
    shift
    # --immediate-mode: without it libpcap delivers packets a ring block at
    # a time (1 s timer), and those of an unfinished block are lost when
    # stop_capture interrupts tcpdump (see scripts/capture-during.sh).
    echo tcpdump --immediate-mode -i "$ifc" -n -U "$@" "tcp port $PORT"
}

# nftables on both hosts drops 3 % of the connection's packets at random
# on input (after the capture point, so the capture still holds them).
lose_3_percent() {
    ip netns exec $SRV nft add table inet lossy
    ip netns exec $SRV nft 'add chain inet lossy input { type filter hook input priority 0; }'
    ip netns exec $SRV nft add rule inet lossy input tcp dport $PORT numgen random mod 100 '<' 3 drop
    ip netns exec $CLI nft add table inet lossy
    ip netns exec $CLI nft 'add chain inet lossy input { type filter hook input priority 0; }'
    ip netns exec $CLI nft add rule inet lossy input tcp sport $PORT numgen random mod 100 '<' 3 drop
}

# The common shape: server up, capture on the server's veth, client runs.
simple() { # name mode [client-host] [tcpdump extra...]
    local name=$1 mode=$2 host=${3:-10.77.0.2}
    shift 3 || shift $#
    setup_pair
    [ "$mode" = refused ] || [ "$mode" = no-answer ] || start_server "$mode" "$host"
    # shellcheck disable=SC2046
    start_capture $SRV "$out/$name.pcap" $(tcpdump_on veth-s "$@")
    ip netns exec $CLI $app client "$mode" "$host" $PORT
    stop_capture 1
}

scenario() {
    case $1 in
    graceful-client) simple graceful-client graceful-client ;;
    graceful-server) simple graceful-server graceful-server ;;
    three-way-close) simple three-way-close three-way ;;
    half-close) simple half-close half-close ;;
    rst-client) simple rst-client rst-client ;;
    rst-server) simple rst-server rst-server ;;
    rst-unread) simple rst-unread rst-unread ;;
    refused) simple refused refused ;;
    ipv6) simple ipv6 ipv6 fd77::2 ;;
    nanosecond) simple nanosecond nano 10.77.0.2 --time-stamp-precision=nano ;;
    snaplen) simple snaplen bulk 10.77.0.2 -s 96 ;;
    close-wait)
        # The server never closes; the capture goes on 3 s after the
        # client's FIN (tests run with --stall 2s).
        setup_pair
        start_server close-wait 10.77.0.2
        start_capture $SRV "$out/close-wait.pcap" $(tcpdump_on veth-s)
        ip netns exec $CLI $app client close-wait 10.77.0.2 $PORT
        stop_capture 3
        ;;
    no-answer)
        # nftables drops every SYN to the port: the client retransmits.
        setup_pair
        ip netns exec $SRV nft -f - <<NFT
table inet finscope_drop {
    chain input { type filter hook input priority 0; tcp dport $PORT drop; }
}
NFT
        start_capture $SRV "$out/no-answer.pcap" $(tcpdump_on veth-s)
        ip netns exec $CLI $app client no-answer 10.77.0.2 $PORT
        stop_capture 0.5
        ;;
    tw-pileup) simple tw-pileup tw-pileup ;;
    zero-window) simple zero-window zero-window 10.77.0.2 -s 96 ;;
    simultaneous-close) simple simultaneous-close simultaneous ;;
    payload-offload | payload-nooffload)
        # A known payload each way (tcpapp.py's payload()) through 3 %
        # random loss each way, with the veths' segmentation offloads on
        # (the capture holds TSO/GRO super-segments) or off (MTU-sized
        # segments only). tests/streams.rs checks the exported streams
        # against the payload byte for byte.
        setup_pair
        if [ "$1" = payload-nooffload ]; then
            ip netns exec $CLI ethtool -K veth-c tso off gso off gro off 2>/dev/null
            ip netns exec $SRV ethtool -K veth-s tso off gso off gro off 2>/dev/null
        fi
        lose_3_percent
        start_server payload 10.77.0.2
        # shellcheck disable=SC2046
        start_capture $SRV "$out/$1.pcap" $(tcpdump_on veth-s)
        ip netns exec $CLI $app client payload 10.77.0.2 $PORT
        stop_capture 0.5
        ;;
    lossy)
        # nftables drops 3 % of the packets each way at random: the kernels
        # retransmit and the 2 MB exchange completes.
        setup_pair
        lose_3_percent
        start_server lossy 10.77.0.2
        # shellcheck disable=SC2046
        start_capture $SRV "$out/lossy.pcap" $(tcpdump_on veth-s -s 80)
        ip netns exec $CLI $app client lossy 10.77.0.2 $PORT
        stop_capture 0.5
        ;;
    final-ack-lost) simple final-ack-lost final-ack-lost ;;
    last-ack-reset)
        # The client keeps no TIME-WAIT (tcp_max_tw_buckets 0), so it
        # answers the server's retransmitted FIN with RST.
        setup_pair
        ip netns exec $CLI sysctl -qw net.ipv4.tcp_max_tw_buckets=0
        start_server last-ack-reset 10.77.0.2
        start_capture $SRV "$out/last-ack-reset.pcap" $(tcpdump_on veth-s)
        ip netns exec $CLI $app client last-ack-reset 10.77.0.2 $PORT
        stop_capture 0.5
        ;;
    tw-reuse-accepted) simple tw-reuse-accepted tw-reuse-accepted ;;
    tw-reuse-rejected)
        # Without timestamps only sequence numbers decide (RFC 6191): after
        # 100 MB the new ISN is below what the server last received.
        setup_pair
        for ns in $CLI $SRV; do ip netns exec $ns sysctl -qw net.ipv4.tcp_timestamps=0; done
        start_server tw-reuse-rejected 10.77.0.2
        start_capture $SRV "$out/tw-reuse-rejected.pcap" $(tcpdump_on veth-s -s 96)
        ip netns exec $CLI $app client tw-reuse-rejected 10.77.0.2 $PORT
        stop_capture 0.5
        ;;
    cw-pileup) simple cw-pileup cw-pileup ;;
    fin-unacked)
        # After the exchange nftables drops everything the server's host
        # receives: the client's FIN is never acked and is retransmitted.
        setup_pair
        start_server fin-unacked 10.77.0.2
        start_capture $SRV "$out/fin-unacked.pcap" $(tcpdump_on veth-s)
        ip netns exec $CLI $app client fin-unacked 10.77.0.2 $PORT &
        local client=$!
        sleep 0.5
        ip netns exec $SRV nft -f - <<NFT
table inet finscope_drop {
    chain input { type filter hook input priority 0; tcp dport $PORT drop; }
}
NFT
        wait $client
        stop_capture 5
        ;;
    midstream)
        # The capture starts after the handshake.
        setup_pair
        start_server midstream 10.77.0.2
        ip netns exec $CLI $app client midstream 10.77.0.2 $PORT &
        local client=$!
        sleep 0.4
        start_capture $SRV "$out/midstream.pcap" $(tcpdump_on veth-s)
        wait $client
        stop_capture 1
        ;;
    any-duplicates)
        # Captured on "any" in a router: every packet is seen on its way
        # in and on its way out (Linux cooked v2 headers, duplicates).
        setup_routed
        start_server any 10.77.2.2
        start_capture $RTR "$out/any-duplicates.pcap" $(tcpdump_on any)
        ip netns exec $CLI $app client any 10.77.2.2 $PORT
        stop_capture 1
        ;;
    pcapng)
        # dumpcap writes pcapng: one interface block per capture
        # interface, here the server's veth and its loopback, each with a
        # connection of its own.
        setup_pair
        start_server pcapng 10.77.0.2
        ip netns exec $SRV $app server pcapng 127.0.0.1 $PORT >/dev/null &
        sleep 0.3
        start_capture $SRV "$out/pcapng.pcapng" dumpcap -q -i veth-s -i lo -f "tcp port $PORT"
        ip netns exec $CLI $app client pcapng 10.77.0.2 $PORT
        ip netns exec $SRV $app client pcapng 127.0.0.1 $PORT
        stop_capture 1
        ;;
    *)
        echo "unknown scenario $1" >&2
        exit 2
        ;;
    esac
    echo "recorded $1"
}

ALL="graceful-client graceful-server three-way-close half-close close-wait rst-client rst-server rst-unread refused no-answer fin-unacked midstream tw-pileup cw-pileup zero-window ipv6 any-duplicates nanosecond snaplen pcapng"
for s in ${@:-$ALL}; do
    scenario "$s"
done
