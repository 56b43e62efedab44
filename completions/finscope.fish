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
complete -c finscope -n "__fish_finscope_needs_command" -f -a "completions" -d 'Print shell completions'
complete -c finscope -n "__fish_finscope_needs_command" -f -a "man" -d 'Print the man page (roff), or a subcommand\'s (`man analyze`)'
complete -c finscope -n "__fish_finscope_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -s r -l read -d 'Read this capture file (tcpdump\'s -r); may be repeated' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -s f -l filter -d 'Only analyze packets matching this pcap-filter expression (needs the `live` feature, built with libpcap)' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -s c -l count -d 'Stop after reading COUNT packets' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l format -d 'Output format [default: table on a terminal, jsonl otherwise]' -r -f -a "table\t'A readable report: summary, findings, servers'
json\t'One finscope/1 JSON document'
jsonl\t'finscope/1 records, one per line, streamed'
csv\t'One row per connection'"
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l progress -d 'Progress bar on standard error' -r -f -a "auto\t''
always\t''
never\t''"
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l color -d 'Colors in the table report' -r -f -a "auto\t''
always\t''
never\t''"
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l time-wait -d '2MSL: how long a TIME-WAIT lasts (Linux 60s; Windows peers use 120s-240s)' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l stall -d 'How long a side may stay silent (in CLOSE-WAIT, or with a FIN unacknowledged) before it counts as stalled' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l fin-retries -d 'FIN retransmissions that make a finding a warning' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l idle-timeout -d 'Connections idle this long leave the table (verdict idle-timeout if they never closed)' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l tw-accumulation -d 'Warn when a host holds this many connections in TIME-WAIT toward one server ip:port at once' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l cw-accumulation -d 'Warn when a host holds this many connections in CLOSE-WAIT at once' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l max-connections -d 'Cap on connections tracked at once; evictions are counted and reported' -r
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -s q -l quiet -d 'Print the summary only'
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l all -d 'Show every row of the table report instead of the top ones'
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -l connections -d 'Add the per-connection table to the table report'
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c finscope -n "__fish_finscope_using_subcommand analyze" -s V -l version -d 'Print version'
complete -c finscope -n "__fish_finscope_using_subcommand completions" -s h -l help -d 'Print help'
complete -c finscope -n "__fish_finscope_using_subcommand completions" -s V -l version -d 'Print version'
complete -c finscope -n "__fish_finscope_using_subcommand man" -s h -l help -d 'Print help'
complete -c finscope -n "__fish_finscope_using_subcommand man" -s V -l version -d 'Print version'
complete -c finscope -n "__fish_finscope_using_subcommand help; and not __fish_seen_subcommand_from analyze completions man help" -f -a "analyze" -d 'Analyze capture files and report how every TCP connection opened and ended'
complete -c finscope -n "__fish_finscope_using_subcommand help; and not __fish_seen_subcommand_from analyze completions man help" -f -a "completions" -d 'Print shell completions'
complete -c finscope -n "__fish_finscope_using_subcommand help; and not __fish_seen_subcommand_from analyze completions man help" -f -a "man" -d 'Print the man page (roff), or a subcommand\'s (`man analyze`)'
complete -c finscope -n "__fish_finscope_using_subcommand help; and not __fish_seen_subcommand_from analyze completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
