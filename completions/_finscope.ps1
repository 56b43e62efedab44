
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'finscope' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'finscope'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'finscope' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('analyze', 'analyze', [CompletionResultType]::ParameterValue, 'Analyze capture files and report how every TCP connection opened and ended')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Analyze capture files as a CI gate: exit 1 when a policy is violated')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Draw one connection as a ladder diagram: every segment, both endpoints'' states, findings where they happen')
            [CompletionResult]::new('live', 'live', [CompletionResultType]::ParameterValue, 'Watch an interface: a live view on a terminal, JSON Lines otherwise; Ctrl-C ends with the final report (needs the `live` feature)')
            [CompletionResult]::new('interfaces', 'interfaces', [CompletionResultType]::ParameterValue, 'List the interfaces `live` can capture on (needs the `live` feature)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff), or a subcommand''s (`man analyze`)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'finscope;analyze' {
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Read this capture file (tcpdump''s -r); may be repeated')
            [CompletionResult]::new('--read', '--read', [CompletionResultType]::ParameterName, 'Read this capture file (tcpdump''s -r); may be repeated')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Only analyze packets matching this pcap-filter expression (needs the `live` feature, built with libpcap)')
            [CompletionResult]::new('--filter', '--filter', [CompletionResultType]::ParameterName, 'Only analyze packets matching this pcap-filter expression (needs the `live` feature, built with libpcap)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Stop after reading COUNT packets')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Stop after reading COUNT packets')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads that share the connections out by flow hash (default: the machine''s cores; 1: one thread does everything). The output is the same, byte for byte, whatever N is, while each worker stays under its share of the default --max-connections (N workers hold 1,000,000/N each). -f, --write-streams and an explicit --max-connections (one table''s exact eviction order) run on one thread')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Worker threads that share the connections out by flow hash (default: the machine''s cores; 1: one thread does everything). The output is the same, byte for byte, whatever N is, while each worker stays under its share of the default --max-connections (N workers hold 1,000,000/N each). -f, --write-streams and an explicit --max-connections (one table''s exact eviction order) run on one thread')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl otherwise]')
            [CompletionResult]::new('--write-streams', '--write-streams', [CompletionResultType]::ParameterName, 'Write each connection''s byte streams to DIR: ID.client, ID.server (bytes at their stream offsets, gaps as holes) and ID.gaps.json')
            [CompletionResult]::new('--stream-buffer', '--stream-buffer', [CompletionResultType]::ParameterName, 'With --write-streams: out-of-order bytes one connection may hold while waiting for a hole to fill (K, M, G suffixes)')
            [CompletionResult]::new('--stream-buffer-total', '--stream-buffer-total', [CompletionResultType]::ParameterName, 'With --write-streams: out-of-order bytes all connections together may hold')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress bar on standard error')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colors in the table report')
            [CompletionResult]::new('--time-wait', '--time-wait', [CompletionResultType]::ParameterName, '2MSL: how long a TIME-WAIT lasts (Linux 60s; Windows peers use 120s-240s) [default: 60s]')
            [CompletionResult]::new('--stall', '--stall', [CompletionResultType]::ParameterName, 'How long a side may stay silent (in CLOSE-WAIT, or with a FIN unacknowledged) before it counts as stalled [default: 60s]')
            [CompletionResult]::new('--fin-retries', '--fin-retries', [CompletionResultType]::ParameterName, 'FIN retransmissions that make a finding a warning [default: 3]')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'Connections idle this long leave the table (verdict idle-timeout if they never closed) [default: 300s]')
            [CompletionResult]::new('--tw-accumulation', '--tw-accumulation', [CompletionResultType]::ParameterName, 'Warn when a host holds this many connections in TIME-WAIT toward one server ip:port at once [default: 1000]')
            [CompletionResult]::new('--cw-accumulation', '--cw-accumulation', [CompletionResultType]::ParameterName, 'Warn when a host holds this many connections in CLOSE-WAIT at once [default: 100]')
            [CompletionResult]::new('--syn-flood', '--syn-flood', [CompletionResultType]::ParameterName, 'Warn when a server has this many half-open connections (SYN seen, handshake not completed) at once [default: 1000]')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Cap on connections tracked at once; evictions are counted and reported [default: 1000000]')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print the summary only')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print the summary only')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Show every row of the table report instead of the top ones')
            [CompletionResult]::new('--connections', '--connections', [CompletionResultType]::ParameterName, 'Add the per-connection table to the table report')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'finscope;check' {
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Read this capture file (tcpdump''s -r); may be repeated')
            [CompletionResult]::new('--read', '--read', [CompletionResultType]::ParameterName, 'Read this capture file (tcpdump''s -r); may be repeated')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Only analyze packets matching this pcap-filter expression (needs the `live` feature, built with libpcap)')
            [CompletionResult]::new('--filter', '--filter', [CompletionResultType]::ParameterName, 'Only analyze packets matching this pcap-filter expression (needs the `live` feature, built with libpcap)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Stop after reading COUNT packets')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Stop after reading COUNT packets')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads that share the connections out by flow hash (default: the machine''s cores; 1: one thread does everything). The output is the same, byte for byte, whatever N is, while each worker stays under its share of the default --max-connections (N workers hold 1,000,000/N each). -f, --write-streams and an explicit --max-connections (one table''s exact eviction order) run on one thread')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Worker threads that share the connections out by flow hash (default: the machine''s cores; 1: one thread does everything). The output is the same, byte for byte, whatever N is, while each worker stays under its share of the default --max-connections (N workers hold 1,000,000/N each). -f, --write-streams and an explicit --max-connections (one table''s exact eviction order) run on one thread')
            [CompletionResult]::new('--policy', '--policy', [CompletionResultType]::ParameterName, 'A policy file (TOML) with the settings below, thresholds and exceptions; flags override it')
            [CompletionResult]::new('--fail-on', '--fail-on', [CompletionResultType]::ParameterName, 'Fail on findings of this severity or worse [default: warning]')
            [CompletionResult]::new('--fail-on-kind', '--fail-on-kind', [CompletionResultType]::ParameterName, 'Fail on these finding kinds whatever their severity (comma-separated)')
            [CompletionResult]::new('--allow', '--allow', [CompletionResultType]::ParameterName, 'Never fail on these finding kinds (comma-separated); they are still reported')
            [CompletionResult]::new('--max', '--max', [CompletionResultType]::ParameterName, 'Budget: fail on KIND only when there are more than N of it (repeatable, or comma-separated)')
            [CompletionResult]::new('--baseline', '--baseline', [CompletionResultType]::ParameterName, 'Compare with a finscope/1 JSON report from a good run (`--write-baseline`, or `analyze --format json`): fail only on what is new or worse')
            [CompletionResult]::new('--write-baseline', '--write-baseline', [CompletionResultType]::ParameterName, 'Save this run as a baseline (a finscope/1 JSON report); without --baseline this records and exits 0 whatever it found')
            [CompletionResult]::new('--tolerance', '--tolerance', [CompletionResultType]::ParameterName, 'With --baseline: how many percent more of a finding kind (per service) still counts as no worse [default: 10]')
            [CompletionResult]::new('--service-by', '--service-by', [CompletionResultType]::ParameterName, 'What makes a service: the server''s address and port, or the port alone (when addresses change between runs) [default: address]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the --format output to FILE; the text verdict still goes to standard output')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the --format output to FILE; the text verdict still goes to standard output')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress bar on standard error')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colors in the text verdict')
            [CompletionResult]::new('--time-wait', '--time-wait', [CompletionResultType]::ParameterName, '2MSL: how long a TIME-WAIT lasts (Linux 60s; Windows peers use 120s-240s) [default: 60s]')
            [CompletionResult]::new('--stall', '--stall', [CompletionResultType]::ParameterName, 'How long a side may stay silent (in CLOSE-WAIT, or with a FIN unacknowledged) before it counts as stalled [default: 60s]')
            [CompletionResult]::new('--fin-retries', '--fin-retries', [CompletionResultType]::ParameterName, 'FIN retransmissions that make a finding a warning [default: 3]')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'Connections idle this long leave the table (verdict idle-timeout if they never closed) [default: 300s]')
            [CompletionResult]::new('--tw-accumulation', '--tw-accumulation', [CompletionResultType]::ParameterName, 'Warn when a host holds this many connections in TIME-WAIT toward one server ip:port at once [default: 1000]')
            [CompletionResult]::new('--cw-accumulation', '--cw-accumulation', [CompletionResultType]::ParameterName, 'Warn when a host holds this many connections in CLOSE-WAIT at once [default: 100]')
            [CompletionResult]::new('--syn-flood', '--syn-flood', [CompletionResultType]::ParameterName, 'Warn when a server has this many half-open connections (SYN seen, handshake not completed) at once [default: 1000]')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Cap on connections tracked at once; evictions are counted and reported [default: 1000000]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'finscope;show' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Text for the terminal, or a Mermaid sequence diagram')
            [CompletionResult]::new('--time-wait', '--time-wait', [CompletionResultType]::ParameterName, '2MSL: how long a TIME-WAIT lasts (Linux 60s; Windows peers use 120s-240s) [default: 60s]')
            [CompletionResult]::new('--stall', '--stall', [CompletionResultType]::ParameterName, 'How long a side may stay silent (in CLOSE-WAIT, or with a FIN unacknowledged) before it counts as stalled [default: 60s]')
            [CompletionResult]::new('--fin-retries', '--fin-retries', [CompletionResultType]::ParameterName, 'FIN retransmissions that make a finding a warning [default: 3]')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'Connections idle this long leave the table (verdict idle-timeout if they never closed) [default: 300s]')
            [CompletionResult]::new('--tw-accumulation', '--tw-accumulation', [CompletionResultType]::ParameterName, 'Warn when a host holds this many connections in TIME-WAIT toward one server ip:port at once [default: 1000]')
            [CompletionResult]::new('--cw-accumulation', '--cw-accumulation', [CompletionResultType]::ParameterName, 'Warn when a host holds this many connections in CLOSE-WAIT at once [default: 100]')
            [CompletionResult]::new('--syn-flood', '--syn-flood', [CompletionResultType]::ParameterName, 'Warn when a server has this many half-open connections (SYN seen, handshake not completed) at once [default: 1000]')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Cap on connections tracked at once; evictions are counted and reported [default: 1000000]')
            [CompletionResult]::new('--full', '--full', [CompletionResultType]::ParameterName, 'Show every segment of a long data phase instead of folding it')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'finscope;live' {
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'The interface to capture on (`finscope interfaces` lists them; `any` for all on Linux)')
            [CompletionResult]::new('--interface', '--interface', [CompletionResultType]::ParameterName, 'The interface to capture on (`finscope interfaces` lists them; `any` for all on Linux)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Capture only packets matching this pcap-filter expression (compiled into the kernel filter)')
            [CompletionResult]::new('--filter', '--filter', [CompletionResultType]::ParameterName, 'Capture only packets matching this pcap-filter expression (compiled into the kernel filter)')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Bytes to capture of each packet; headers are enough for finscope')
            [CompletionResult]::new('--snaplen', '--snaplen', [CompletionResultType]::ParameterName, 'Bytes to capture of each packet; headers are enough for finscope')
            [CompletionResult]::new('-B', '-B ', [CompletionResultType]::ParameterName, 'Kernel capture buffer in KiB, as tcpdump''s -B')
            [CompletionResult]::new('--buffer-size', '--buffer-size', [CompletionResultType]::ParameterName, 'Kernel capture buffer in KiB, as tcpdump''s -B')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Also write what is captured to FILE (pcap)')
            [CompletionResult]::new('--write', '--write', [CompletionResultType]::ParameterName, 'Also write what is captured to FILE (pcap)')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Stop after this long (500ms, 30s, 5m) and print the final report')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Stop after reading COUNT packets')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Stop after reading COUNT packets')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: a live view, then the table, on a terminal; jsonl otherwise]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colors in the table report')
            [CompletionResult]::new('--time-wait', '--time-wait', [CompletionResultType]::ParameterName, '2MSL: how long a TIME-WAIT lasts (Linux 60s; Windows peers use 120s-240s) [default: 60s]')
            [CompletionResult]::new('--stall', '--stall', [CompletionResultType]::ParameterName, 'How long a side may stay silent (in CLOSE-WAIT, or with a FIN unacknowledged) before it counts as stalled [default: 60s]')
            [CompletionResult]::new('--fin-retries', '--fin-retries', [CompletionResultType]::ParameterName, 'FIN retransmissions that make a finding a warning [default: 3]')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'Connections idle this long leave the table (verdict idle-timeout if they never closed) [default: 300s]')
            [CompletionResult]::new('--tw-accumulation', '--tw-accumulation', [CompletionResultType]::ParameterName, 'Warn when a host holds this many connections in TIME-WAIT toward one server ip:port at once [default: 1000]')
            [CompletionResult]::new('--cw-accumulation', '--cw-accumulation', [CompletionResultType]::ParameterName, 'Warn when a host holds this many connections in CLOSE-WAIT at once [default: 100]')
            [CompletionResult]::new('--syn-flood', '--syn-flood', [CompletionResultType]::ParameterName, 'Warn when a server has this many half-open connections (SYN seen, handshake not completed) at once [default: 1000]')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Cap on connections tracked at once; evictions are counted and reported [default: 1000000]')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'The final report''s summary only (and no connection records in jsonl)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'The final report''s summary only (and no connection records in jsonl)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'finscope;interfaces' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'finscope;completions' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'finscope;man' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'finscope;help' {
            [CompletionResult]::new('analyze', 'analyze', [CompletionResultType]::ParameterValue, 'Analyze capture files and report how every TCP connection opened and ended')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Analyze capture files as a CI gate: exit 1 when a policy is violated')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Draw one connection as a ladder diagram: every segment, both endpoints'' states, findings where they happen')
            [CompletionResult]::new('live', 'live', [CompletionResultType]::ParameterValue, 'Watch an interface: a live view on a terminal, JSON Lines otherwise; Ctrl-C ends with the final report (needs the `live` feature)')
            [CompletionResult]::new('interfaces', 'interfaces', [CompletionResultType]::ParameterValue, 'List the interfaces `live` can capture on (needs the `live` feature)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff), or a subcommand''s (`man analyze`)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'finscope;help;analyze' {
            break
        }
        'finscope;help;check' {
            break
        }
        'finscope;help;show' {
            break
        }
        'finscope;help;live' {
            break
        }
        'finscope;help;interfaces' {
            break
        }
        'finscope;help;completions' {
            break
        }
        'finscope;help;man' {
            break
        }
        'finscope;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
