# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_finscope_global_optspecs
    string join \n h/help V/version
end

function __fish_finscope_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_finscope_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_finscope_using_subcommand
    set -l cmd (__fish_finscope_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c finscope -n "__fish_finscope_needs_command" -s h -l help -d 'Print help'
complete -c finscope -n "__fish_finscope_needs_command" -s V -l version -d 'Print version'
complete -c finscope -n "__fish_finscope_needs_command" -f -a "analyze" -d 'Analyze capture files and report how every TCP connection opened and ended'
complete -c finscope -n "__fish_finscope_needs_command" -f -a "check" -d 'Analyze capture files as a CI gate: exit 1 when a policy is violated'
complete -c finscope -n "__fish_finscope_needs_command" -f -a "show" -d 'Draw one connection as a ladder diagram: every segment, both endpoints\' states, findings where they happen'
complete -c finscope -n "__fish_finscope_needs_command" -f -a "live" -d 'Watch an interface: a live view on a terminal, JSON Lines otherwise; Ctrl-C ends with the final report (needs the `live` feature)'
complete -c finscope -n "__fish_finscope_needs_command" -f -a "interfaces" -d 'List the interfaces `live` can capture on (needs the `live` feature)'
complete -c finscope -n "__fish_finscope_needs_command" -f -a "completions" -d 'Print shell completions'
complete -c finscope -n "__fish_finscope_needs_command" -f -a "man" -d 'Print the man page (roff), or a subcommand\'s (`man analyze`)'
complete -c finscope -n "__fish_finscope_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -s r -l read -d 'Read this capture file (tcpdump\'s -r); may be repeated' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -s f -l filter -d 'Only analyze packets matching this pcap-filter expression (needs the `live` feature, built with libpcap)' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -s c -l count -d 'Stop after reading COUNT packets' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -s j -l threads -d 'Worker threads that share the connections out by flow hash (default: the machine\'s cores; 1: one thread does everything). The output is the same, byte for byte, whatever N is, while each worker stays under its share of the default --max-connections (N workers hold 1,000,000/N each). -f, --write-streams and an explicit --max-connections (one table\'s exact eviction order) run on one thread' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l format -d 'Output format [default: table on a terminal, jsonl otherwise]' -r -f -a "table\t'A readable report: summary, findings, servers'
json\t'One finscope/1 JSON document'
jsonl\t'finscope/1 records, one per line, streamed'
csv\t'One row per connection'"
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l write-streams -d 'Write each connection\'s byte streams to DIR: ID.client, ID.server (bytes at their stream offsets, gaps as holes) and ID.gaps.json' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l stream-buffer -d 'With --write-streams: out-of-order bytes one connection may hold while waiting for a hole to fill (K, M, G suffixes)' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l stream-buffer-total -d 'With --write-streams: out-of-order bytes all connections together may hold' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l progress -d 'Progress bar on standard error' -r -f -a "auto\t''
always\t''
never\t''"
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l color -d 'Colors in the table report' -r -f -a "auto\t''
always\t''
never\t''"
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l time-wait -d '2MSL: how long a TIME-WAIT lasts (Linux 60s; Windows peers use 120s-240s) [default: 60s]' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l stall -d 'How long a side may stay silent (in CLOSE-WAIT, or with a FIN unacknowledged) before it counts as stalled [default: 60s]' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l fin-retries -d 'FIN retransmissions that make a finding a warning [default: 3]' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l idle-timeout -d 'Connections idle this long leave the table (verdict idle-timeout if they never closed) [default: 300s]' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l tw-accumulation -d 'Warn when a host holds this many connections in TIME-WAIT toward one server ip:port at once [default: 1000]' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l cw-accumulation -d 'Warn when a host holds this many connections in CLOSE-WAIT at once [default: 100]' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l syn-flood -d 'Warn when a server has this many half-open connections (SYN seen, handshake not completed) at once [default: 1000]' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l max-connections -d 'Cap on connections tracked at once; evictions are counted and reported [default: 1000000]' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -s q -l quiet -d 'Print the summary only'
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l all -d 'Show every row of the table report instead of the top ones'
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l connections -d 'Add the per-connection table to the table report'
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -s V -l version -d 'Print version'
complete -c finscope -n "__fish_finscope_using_subcommand check" -s r -l read -d 'Read this capture file (tcpdump\'s -r); may be repeated' -r
complete -c finscope -n "__fish_finscope_using_subcommand check" -s f -l filter -d 'Only analyze packets matching this pcap-filter expression (needs the `live` feature, built with libpcap)' -r
complete -c finscope -n "__fish_finscope_using_subcommand check" -s c -l count -d 'Stop after reading COUNT packets' -r
complete -c finscope -n "__fish_finscope_using_subcommand check" -s j -l threads -d 'Worker threads that share the connections out by flow hash (default: the machine\'s cores; 1: one thread does everything). The output is the same, byte for byte, whatever N is, while each worker stays under its share of the default --max-connections (N workers hold 1,000,000/N each). -f, --write-streams and an explicit --max-connections (one table\'s exact eviction order) run on one thread' -r
complete -c finscope -n "__fish_finscope_using_subcommand check" -l policy -d 'A policy file (TOML) with the settings below, thresholds and exceptions; flags override it' -r
complete -c finscope -n "__fish_finscope_using_subcommand check" -l fail-on -d 'Fail on findings of this severity or worse [default: warning]' -r -f -a "info\t''
warning\t''
error\t''
never\t'Fail on severity never (only --fail-on-kind, --max and baselines fail)'"
complete -c finscope -n "__fish_finscope_using_subcommand check" -l fail-on-kind -d 'Fail on these finding kinds whatever their severity (comma-separated)' -r
complete -c finscope -n "__fish_finscope_using_subcommand check" -l allow -d 'Never fail on these finding kinds (comma-separated); they are still reported' -r
complete -c finscope -n "__fish_finscope_using_subcommand check" -l max -d 'Budget: fail on KIND only when there are more than N of it (repeatable, or comma-separated)' -r
complete -c finscope -n "__fish_finscope_using_subcommand check" -l baseline -d 'Compare with a finscope/1 JSON report from a good run (`--write-baseline`, or `analyze --format json`): fail only on what is new or worse' -r
complete -c finscope -n "__fish_finscope_using_subcommand check" -l write-baseline -d 'Save this run as a baseline (a finscope/1 JSON report); without --baseline this records and exits 0 whatever it found' -r
complete -c finscope -n "__fish_finscope_using_subcommand check" -l tolerance -d 'With --baseline: how many percent more of a finding kind (per service) still counts as no worse [default: 10]' -r
complete -c finscope -n "__fish_finscope_using_subcommand check" -l service-by -d 'What makes a service: the server\'s address and port, or the port alone (when addresses change between runs) [default: address]' -r -f -a "address\t'The server\'s ip:port'
port\t'The server\'s port alone'"
complete -c finscope -n "__fish_finscope_using_subcommand check" -l format -d 'Output format' -r -f -a "text\t'The verdict for people: each violation with the connection and the rule'
json\t'One finscope/1 document of type `check`'
junit\t'JUnit XML: a test suite per rule, a test case per service'
sarif\t'SARIF 2.1.0, for code-scanning dashboards'
github\t'GitHub Actions annotation lines (::error ...::)'"
complete -c finscope -n "__fish_finscope_using_subcommand check" -s o -l output -d 'Write the --format output to FILE; the text verdict still goes to standard output' -r
complete -c finscope -n "__fish_finscope_using_subcommand check" -l progress -d 'Progress bar on standard error' -r -f -a "auto\t''
always\t''
never\t''"
complete -c finscope -n "__fish_finscope_using_subcommand check" -l color -d 'Colors in the text verdict' -r -f -a "auto\t''
always\t''
never\t''"
complete -c finscope -n "__fish_finscope_using_subcommand check" -l time-wait -d '2MSL: how long a TIME-WAIT lasts (Linux 60s; Windows peers use 120s-240s) [default: 60s]' -r
complete -c finscope -n "__fish_finscope_using_subcommand check" -l stall -d 'How long a side may stay silent (in CLOSE-WAIT, or with a FIN unacknowledged) before it counts as stalled [default: 60s]' -r
complete -c finscope -n "__fish_finscope_using_subcommand check" -l fin-retries -d 'FIN retransmissions that make a finding a warning [default: 3]' -r
complete -c finscope -n "__fish_finscope_using_subcommand check" -l idle-timeout -d 'Connections idle this long leave the table (verdict idle-timeout if they never closed) [default: 300s]' -r
complete -c finscope -n "__fish_finscope_using_subcommand check" -l tw-accumulation -d 'Warn when a host holds this many connections in TIME-WAIT toward one server ip:port at once [default: 1000]' -r
complete -c finscope -n "__fish_finscope_using_subcommand check" -l cw-accumulation -d 'Warn when a host holds this many connections in CLOSE-WAIT at once [default: 100]' -r
complete -c finscope -n "__fish_finscope_using_subcommand check" -l syn-flood -d 'Warn when a server has this many half-open connections (SYN seen, handshake not completed) at once [default: 1000]' -r
complete -c finscope -n "__fish_finscope_using_subcommand check" -l max-connections -d 'Cap on connections tracked at once; evictions are counted and reported [default: 1000000]' -r
complete -c finscope -n "__fish_finscope_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c finscope -n "__fish_finscope_using_subcommand check" -s V -l version -d 'Print version'
complete -c finscope -n "__fish_finscope_using_subcommand show" -l format -d 'Text for the terminal, or a Mermaid sequence diagram' -r -f -a "text\t'A ladder diagram for the terminal'
mermaid\t'A Mermaid sequenceDiagram (for CI reports, wikis, GitHub comments)'"
complete -c finscope -n "__fish_finscope_using_subcommand show" -l time-wait -d '2MSL: how long a TIME-WAIT lasts (Linux 60s; Windows peers use 120s-240s) [default: 60s]' -r
complete -c finscope -n "__fish_finscope_using_subcommand show" -l stall -d 'How long a side may stay silent (in CLOSE-WAIT, or with a FIN unacknowledged) before it counts as stalled [default: 60s]' -r
complete -c finscope -n "__fish_finscope_using_subcommand show" -l fin-retries -d 'FIN retransmissions that make a finding a warning [default: 3]' -r
complete -c finscope -n "__fish_finscope_using_subcommand show" -l idle-timeout -d 'Connections idle this long leave the table (verdict idle-timeout if they never closed) [default: 300s]' -r
complete -c finscope -n "__fish_finscope_using_subcommand show" -l tw-accumulation -d 'Warn when a host holds this many connections in TIME-WAIT toward one server ip:port at once [default: 1000]' -r
complete -c finscope -n "__fish_finscope_using_subcommand show" -l cw-accumulation -d 'Warn when a host holds this many connections in CLOSE-WAIT at once [default: 100]' -r
complete -c finscope -n "__fish_finscope_using_subcommand show" -l syn-flood -d 'Warn when a server has this many half-open connections (SYN seen, handshake not completed) at once [default: 1000]' -r
complete -c finscope -n "__fish_finscope_using_subcommand show" -l max-connections -d 'Cap on connections tracked at once; evictions are counted and reported [default: 1000000]' -r
complete -c finscope -n "__fish_finscope_using_subcommand show" -l full -d 'Show every segment of a long data phase instead of folding it'
complete -c finscope -n "__fish_finscope_using_subcommand show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c finscope -n "__fish_finscope_using_subcommand show" -s V -l version -d 'Print version'
complete -c finscope -n "__fish_finscope_using_subcommand live" -s i -l interface -d 'The interface to capture on (`finscope interfaces` lists them; `any` for all on Linux)' -r
complete -c finscope -n "__fish_finscope_using_subcommand live" -s f -l filter -d 'Capture only packets matching this pcap-filter expression (compiled into the kernel filter)' -r
complete -c finscope -n "__fish_finscope_using_subcommand live" -s s -l snaplen -d 'Bytes to capture of each packet; headers are enough for finscope' -r
complete -c finscope -n "__fish_finscope_using_subcommand live" -s B -l buffer-size -d 'Kernel capture buffer in KiB, as tcpdump\'s -B' -r
complete -c finscope -n "__fish_finscope_using_subcommand live" -s w -l write -d 'Also write what is captured to FILE (pcap)' -r
complete -c finscope -n "__fish_finscope_using_subcommand live" -l duration -d 'Stop after this long (500ms, 30s, 5m) and print the final report' -r
complete -c finscope -n "__fish_finscope_using_subcommand live" -s c -l count -d 'Stop after reading COUNT packets' -r
complete -c finscope -n "__fish_finscope_using_subcommand live" -l format -d 'Output format [default: a live view, then the table, on a terminal; jsonl otherwise]' -r -f -a "table\t'A readable report: summary, findings, servers'
json\t'One finscope/1 JSON document'
jsonl\t'finscope/1 records, one per line, streamed'
csv\t'One row per connection'"
complete -c finscope -n "__fish_finscope_using_subcommand live" -l color -d 'Colors in the table report' -r -f -a "auto\t''
always\t''
never\t''"
complete -c finscope -n "__fish_finscope_using_subcommand live" -l time-wait -d '2MSL: how long a TIME-WAIT lasts (Linux 60s; Windows peers use 120s-240s) [default: 60s]' -r
complete -c finscope -n "__fish_finscope_using_subcommand live" -l stall -d 'How long a side may stay silent (in CLOSE-WAIT, or with a FIN unacknowledged) before it counts as stalled [default: 60s]' -r
complete -c finscope -n "__fish_finscope_using_subcommand live" -l fin-retries -d 'FIN retransmissions that make a finding a warning [default: 3]' -r
complete -c finscope -n "__fish_finscope_using_subcommand live" -l idle-timeout -d 'Connections idle this long leave the table (verdict idle-timeout if they never closed) [default: 300s]' -r
complete -c finscope -n "__fish_finscope_using_subcommand live" -l tw-accumulation -d 'Warn when a host holds this many connections in TIME-WAIT toward one server ip:port at once [default: 1000]' -r
complete -c finscope -n "__fish_finscope_using_subcommand live" -l cw-accumulation -d 'Warn when a host holds this many connections in CLOSE-WAIT at once [default: 100]' -r
complete -c finscope -n "__fish_finscope_using_subcommand live" -l syn-flood -d 'Warn when a server has this many half-open connections (SYN seen, handshake not completed) at once [default: 1000]' -r
complete -c finscope -n "__fish_finscope_using_subcommand live" -l max-connections -d 'Cap on connections tracked at once; evictions are counted and reported [default: 1000000]' -r
complete -c finscope -n "__fish_finscope_using_subcommand live" -s q -l quiet -d 'The final report\'s summary only (and no connection records in jsonl)'
complete -c finscope -n "__fish_finscope_using_subcommand live" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c finscope -n "__fish_finscope_using_subcommand live" -s V -l version -d 'Print version'
complete -c finscope -n "__fish_finscope_using_subcommand interfaces" -l format -d 'Output format' -r -f -a "table\t'One line per interface'
json\t'A JSON array'"
complete -c finscope -n "__fish_finscope_using_subcommand interfaces" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c finscope -n "__fish_finscope_using_subcommand interfaces" -s V -l version -d 'Print version'
complete -c finscope -n "__fish_finscope_using_subcommand completions" -s h -l help -d 'Print help'
complete -c finscope -n "__fish_finscope_using_subcommand completions" -s V -l version -d 'Print version'
complete -c finscope -n "__fish_finscope_using_subcommand man" -s h -l help -d 'Print help'
complete -c finscope -n "__fish_finscope_using_subcommand man" -s V -l version -d 'Print version'
complete -c finscope -n "__fish_finscope_using_subcommand help; and not __fish_seen_subcommand_from analyze check show live interfaces completions man help" -f -a "analyze" -d 'Analyze capture files and report how every TCP connection opened and ended'
complete -c finscope -n "__fish_finscope_using_subcommand help; and not __fish_seen_subcommand_from analyze check show live interfaces completions man help" -f -a "check" -d 'Analyze capture files as a CI gate: exit 1 when a policy is violated'
complete -c finscope -n "__fish_finscope_using_subcommand help; and not __fish_seen_subcommand_from analyze check show live interfaces completions man help" -f -a "show" -d 'Draw one connection as a ladder diagram: every segment, both endpoints\' states, findings where they happen'
complete -c finscope -n "__fish_finscope_using_subcommand help; and not __fish_seen_subcommand_from analyze check show live interfaces completions man help" -f -a "live" -d 'Watch an interface: a live view on a terminal, JSON Lines otherwise; Ctrl-C ends with the final report (needs the `live` feature)'
complete -c finscope -n "__fish_finscope_using_subcommand help; and not __fish_seen_subcommand_from analyze check show live interfaces completions man help" -f -a "interfaces" -d 'List the interfaces `live` can capture on (needs the `live` feature)'
complete -c finscope -n "__fish_finscope_using_subcommand help; and not __fish_seen_subcommand_from analyze check show live interfaces completions man help" -f -a "completions" -d 'Print shell completions'
complete -c finscope -n "__fish_finscope_using_subcommand help; and not __fish_seen_subcommand_from analyze check show live interfaces completions man help" -f -a "man" -d 'Print the man page (roff), or a subcommand\'s (`man analyze`)'
complete -c finscope -n "__fish_finscope_using_subcommand help; and not __fish_seen_subcommand_from analyze check show live interfaces completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
