
use builtin;
use str;

set edit:completion:arg-completer[finscope] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'finscope'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'finscope'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand analyze 'Analyze capture files and report how every TCP connection opened and ended'
            cand check 'Analyze capture files as a CI gate: exit 1 when a policy is violated'
            cand show 'Draw one connection as a ladder diagram: every segment, both endpoints'' states, findings where they happen'
            cand live 'Watch an interface: a live view on a terminal, JSON Lines otherwise; Ctrl-C ends with the final report (needs the `live` feature)'
            cand interfaces 'List the interfaces `live` can capture on (needs the `live` feature)'
            cand completions 'Print shell completions'
            cand man 'Print the man page (roff), or a subcommand''s (`man analyze`)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'finscope;analyze'= {
            cand -r 'Read this capture file (tcpdump''s -r); may be repeated'
            cand --read 'Read this capture file (tcpdump''s -r); may be repeated'
            cand -f 'Only analyze packets matching this pcap-filter expression (needs the `live` feature, built with libpcap)'
            cand --filter 'Only analyze packets matching this pcap-filter expression (needs the `live` feature, built with libpcap)'
            cand -c 'Stop after reading COUNT packets'
            cand --count 'Stop after reading COUNT packets'
            cand -j 'Worker threads that share the connections out by flow hash (default: the machine''s cores; 1: one thread does everything). The output is the same, byte for byte, whatever N is, while each worker stays under its share of the default --max-connections (N workers hold 1,000,000/N each). -f, --write-streams and an explicit --max-connections (one table''s exact eviction order) run on one thread'
            cand --threads 'Worker threads that share the connections out by flow hash (default: the machine''s cores; 1: one thread does everything). The output is the same, byte for byte, whatever N is, while each worker stays under its share of the default --max-connections (N workers hold 1,000,000/N each). -f, --write-streams and an explicit --max-connections (one table''s exact eviction order) run on one thread'
            cand --format 'Output format [default: table on a terminal, jsonl otherwise]'
            cand --write-streams 'Write each connection''s byte streams to DIR: ID.client, ID.server (bytes at their stream offsets, gaps as holes) and ID.gaps.json'
            cand --stream-buffer 'With --write-streams: out-of-order bytes one connection may hold while waiting for a hole to fill (K, M, G suffixes)'
            cand --stream-buffer-total 'With --write-streams: out-of-order bytes all connections together may hold'
            cand --progress 'Progress bar on standard error'
            cand --color 'Colors in the table report'
            cand --time-wait '2MSL: how long a TIME-WAIT lasts (Linux 60s; Windows peers use 120s-240s) [default: 60s]'
            cand --stall 'How long a side may stay silent (in CLOSE-WAIT, or with a FIN unacknowledged) before it counts as stalled [default: 60s]'
            cand --fin-retries 'FIN retransmissions that make a finding a warning [default: 3]'
            cand --idle-timeout 'Connections idle this long leave the table (verdict idle-timeout if they never closed) [default: 300s]'
            cand --tw-accumulation 'Warn when a host holds this many connections in TIME-WAIT toward one server ip:port at once [default: 1000]'
            cand --cw-accumulation 'Warn when a host holds this many connections in CLOSE-WAIT at once [default: 100]'
            cand --syn-flood 'Warn when a server has this many half-open connections (SYN seen, handshake not completed) at once [default: 1000]'
            cand --max-connections 'Cap on connections tracked at once; evictions are counted and reported [default: 1000000]'
            cand -q 'Print the summary only'
            cand --quiet 'Print the summary only'
            cand --all 'Show every row of the table report instead of the top ones'
            cand --connections 'Add the per-connection table to the table report'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'finscope;check'= {
            cand -r 'Read this capture file (tcpdump''s -r); may be repeated'
            cand --read 'Read this capture file (tcpdump''s -r); may be repeated'
            cand -f 'Only analyze packets matching this pcap-filter expression (needs the `live` feature, built with libpcap)'
            cand --filter 'Only analyze packets matching this pcap-filter expression (needs the `live` feature, built with libpcap)'
            cand -c 'Stop after reading COUNT packets'
            cand --count 'Stop after reading COUNT packets'
            cand -j 'Worker threads that share the connections out by flow hash (default: the machine''s cores; 1: one thread does everything). The output is the same, byte for byte, whatever N is, while each worker stays under its share of the default --max-connections (N workers hold 1,000,000/N each). -f, --write-streams and an explicit --max-connections (one table''s exact eviction order) run on one thread'
            cand --threads 'Worker threads that share the connections out by flow hash (default: the machine''s cores; 1: one thread does everything). The output is the same, byte for byte, whatever N is, while each worker stays under its share of the default --max-connections (N workers hold 1,000,000/N each). -f, --write-streams and an explicit --max-connections (one table''s exact eviction order) run on one thread'
            cand --policy 'A policy file (TOML) with the settings below, thresholds and exceptions; flags override it'
            cand --fail-on 'Fail on findings of this severity or worse [default: warning]'
            cand --fail-on-kind 'Fail on these finding kinds whatever their severity (comma-separated)'
            cand --allow 'Never fail on these finding kinds (comma-separated); they are still reported'
            cand --max 'Budget: fail on KIND only when there are more than N of it (repeatable, or comma-separated)'
            cand --baseline 'Compare with a finscope/1 JSON report from a good run (`--write-baseline`, or `analyze --format json`): fail only on what is new or worse'
            cand --write-baseline 'Save this run as a baseline (a finscope/1 JSON report); without --baseline this records and exits 0 whatever it found'
            cand --tolerance 'With --baseline: how many percent more of a finding kind (per service) still counts as no worse [default: 10]'
            cand --service-by 'What makes a service: the server''s address and port, or the port alone (when addresses change between runs) [default: address]'
            cand --format 'Output format'
            cand -o 'Write the --format output to FILE; the text verdict still goes to standard output'
            cand --output 'Write the --format output to FILE; the text verdict still goes to standard output'
            cand --progress 'Progress bar on standard error'
            cand --color 'Colors in the text verdict'
            cand --time-wait '2MSL: how long a TIME-WAIT lasts (Linux 60s; Windows peers use 120s-240s) [default: 60s]'
            cand --stall 'How long a side may stay silent (in CLOSE-WAIT, or with a FIN unacknowledged) before it counts as stalled [default: 60s]'
            cand --fin-retries 'FIN retransmissions that make a finding a warning [default: 3]'
            cand --idle-timeout 'Connections idle this long leave the table (verdict idle-timeout if they never closed) [default: 300s]'
            cand --tw-accumulation 'Warn when a host holds this many connections in TIME-WAIT toward one server ip:port at once [default: 1000]'
            cand --cw-accumulation 'Warn when a host holds this many connections in CLOSE-WAIT at once [default: 100]'
            cand --syn-flood 'Warn when a server has this many half-open connections (SYN seen, handshake not completed) at once [default: 1000]'
            cand --max-connections 'Cap on connections tracked at once; evictions are counted and reported [default: 1000000]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'finscope;show'= {
            cand --format 'Text for the terminal, or a Mermaid sequence diagram'
            cand --time-wait '2MSL: how long a TIME-WAIT lasts (Linux 60s; Windows peers use 120s-240s) [default: 60s]'
            cand --stall 'How long a side may stay silent (in CLOSE-WAIT, or with a FIN unacknowledged) before it counts as stalled [default: 60s]'
            cand --fin-retries 'FIN retransmissions that make a finding a warning [default: 3]'
            cand --idle-timeout 'Connections idle this long leave the table (verdict idle-timeout if they never closed) [default: 300s]'
            cand --tw-accumulation 'Warn when a host holds this many connections in TIME-WAIT toward one server ip:port at once [default: 1000]'
            cand --cw-accumulation 'Warn when a host holds this many connections in CLOSE-WAIT at once [default: 100]'
            cand --syn-flood 'Warn when a server has this many half-open connections (SYN seen, handshake not completed) at once [default: 1000]'
            cand --max-connections 'Cap on connections tracked at once; evictions are counted and reported [default: 1000000]'
            cand --full 'Show every segment of a long data phase instead of folding it'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'finscope;live'= {
            cand -i 'The interface to capture on (`finscope interfaces` lists them; `any` for all on Linux)'
            cand --interface 'The interface to capture on (`finscope interfaces` lists them; `any` for all on Linux)'
            cand -f 'Capture only packets matching this pcap-filter expression (compiled into the kernel filter)'
            cand --filter 'Capture only packets matching this pcap-filter expression (compiled into the kernel filter)'
            cand -s 'Bytes to capture of each packet; headers are enough for finscope'
            cand --snaplen 'Bytes to capture of each packet; headers are enough for finscope'
            cand -B 'Kernel capture buffer in KiB, as tcpdump''s -B'
            cand --buffer-size 'Kernel capture buffer in KiB, as tcpdump''s -B'
            cand -w 'Also write what is captured to FILE (pcap)'
            cand --write 'Also write what is captured to FILE (pcap)'
            cand --duration 'Stop after this long (500ms, 30s, 5m) and print the final report'
            cand -c 'Stop after reading COUNT packets'
            cand --count 'Stop after reading COUNT packets'
            cand --format 'Output format [default: a live view, then the table, on a terminal; jsonl otherwise]'
            cand --color 'Colors in the table report'
            cand --time-wait '2MSL: how long a TIME-WAIT lasts (Linux 60s; Windows peers use 120s-240s) [default: 60s]'
            cand --stall 'How long a side may stay silent (in CLOSE-WAIT, or with a FIN unacknowledged) before it counts as stalled [default: 60s]'
            cand --fin-retries 'FIN retransmissions that make a finding a warning [default: 3]'
            cand --idle-timeout 'Connections idle this long leave the table (verdict idle-timeout if they never closed) [default: 300s]'
            cand --tw-accumulation 'Warn when a host holds this many connections in TIME-WAIT toward one server ip:port at once [default: 1000]'
            cand --cw-accumulation 'Warn when a host holds this many connections in CLOSE-WAIT at once [default: 100]'
            cand --syn-flood 'Warn when a server has this many half-open connections (SYN seen, handshake not completed) at once [default: 1000]'
            cand --max-connections 'Cap on connections tracked at once; evictions are counted and reported [default: 1000000]'
            cand -q 'The final report''s summary only (and no connection records in jsonl)'
            cand --quiet 'The final report''s summary only (and no connection records in jsonl)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'finscope;interfaces'= {
            cand --format 'Output format'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'finscope;completions'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'finscope;man'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'finscope;help'= {
            cand analyze 'Analyze capture files and report how every TCP connection opened and ended'
            cand check 'Analyze capture files as a CI gate: exit 1 when a policy is violated'
            cand show 'Draw one connection as a ladder diagram: every segment, both endpoints'' states, findings where they happen'
            cand live 'Watch an interface: a live view on a terminal, JSON Lines otherwise; Ctrl-C ends with the final report (needs the `live` feature)'
            cand interfaces 'List the interfaces `live` can capture on (needs the `live` feature)'
            cand completions 'Print shell completions'
            cand man 'Print the man page (roff), or a subcommand''s (`man analyze`)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'finscope;help;analyze'= {
        }
        &'finscope;help;check'= {
        }
        &'finscope;help;show'= {
        }
        &'finscope;help;live'= {
        }
        &'finscope;help;interfaces'= {
        }
        &'finscope;help;completions'= {
        }
        &'finscope;help;man'= {
        }
        &'finscope;help;help'= {
        }
    ]
    $completions[$command]
}
