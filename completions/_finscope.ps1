
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
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, jsonl otherwise]')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress bar on standard error')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colors in the table report')
            [CompletionResult]::new('--time-wait', '--time-wait', [CompletionResultType]::ParameterName, '2MSL: how long a TIME-WAIT lasts (Linux 60s; Windows peers use 120s-240s)')
            [CompletionResult]::new('--stall', '--stall', [CompletionResultType]::ParameterName, 'How long a side may stay silent (in CLOSE-WAIT, or with a FIN unacknowledged) before it counts as stalled')
            [CompletionResult]::new('--fin-retries', '--fin-retries', [CompletionResultType]::ParameterName, 'FIN retransmissions that make a finding a warning')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'Connections idle this long leave the table (verdict idle-timeout if they never closed)')
            [CompletionResult]::new('--tw-accumulation', '--tw-accumulation', [CompletionResultType]::ParameterName, 'Warn when a host holds this many connections in TIME-WAIT toward one server ip:port at once')
            [CompletionResult]::new('--cw-accumulation', '--cw-accumulation', [CompletionResultType]::ParameterName, 'Warn when a host holds this many connections in CLOSE-WAIT at once')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Cap on connections tracked at once; evictions are counted and reported')
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
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff), or a subcommand''s (`man analyze`)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'finscope;help;analyze' {
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
