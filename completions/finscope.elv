
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
            cand --format 'Output format [default: table on a terminal, jsonl otherwise]'
            cand --progress 'Progress bar on standard error'
            cand --color 'Colors in the table report'
            cand --time-wait '2MSL: how long a TIME-WAIT lasts (Linux 60s; Windows peers use 120s-240s)'
            cand --stall 'How long a side may stay silent (in CLOSE-WAIT, or with a FIN unacknowledged) before it counts as stalled'
            cand --fin-retries 'FIN retransmissions that make a finding a warning'
            cand --idle-timeout 'Connections idle this long leave the table (verdict idle-timeout if they never closed)'
            cand --tw-accumulation 'Warn when a host holds this many connections in TIME-WAIT toward one server ip:port at once'
            cand --cw-accumulation 'Warn when a host holds this many connections in CLOSE-WAIT at once'
            cand --max-connections 'Cap on connections tracked at once; evictions are counted and reported'
            cand -q 'Print the summary only'
            cand --quiet 'Print the summary only'
            cand --all 'Show every row of the table report instead of the top ones'
            cand --connections 'Add the per-connection table to the table report'
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
            cand completions 'Print shell completions'
            cand man 'Print the man page (roff), or a subcommand''s (`man analyze`)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'finscope;help;analyze'= {
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
