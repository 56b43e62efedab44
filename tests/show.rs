//! `finscope show`: ladder diagrams of the testdata captures, compared with
//! the committed snapshots in `tests/snapshots/` (FINSCOPE_BLESS=1 rewrites
//! them), and how a connection is picked.

mod common;

use std::path::Path;

use common::run;

/// (snapshot name, capture, CONN, extra flags)
const SNAPSHOTS: &[(&str, &str, &str, &[&str])] = &[
    ("graceful-server", "graceful-server.pcap", "1", &[]),
    ("graceful-client", "graceful-client.pcap", "1", &[]),
    ("half-close", "half-close.pcap", "1", &[]),
    ("rst-server", "rst-server.pcap", "1", &[]),
    ("simultaneous-close", "simultaneous-close.pcap", "1", &[]),
    ("final-ack-lost", "final-ack-lost.pcap", "1", &[]),
    ("close-wait", "close-wait.pcap", "1", &["--stall", "2s"]),
    ("fin-unacked", "fin-unacked.pcap", "1", &[]),
    ("refused", "refused.pcap", "1", &[]),
    ("lossy-folded", "lossy.pcap", "1", &[]),
    (
        "simultaneous-close.mermaid",
        "simultaneous-close.pcap",
        "1",
        &["--format", "mermaid"],
    ),
    (
        "rst-server.mermaid",
        "rst-server.pcap",
        "1",
        &["--format", "mermaid"],
    ),
];

#[test]
fn ladder_diagrams_match_their_snapshots() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bless = std::env::var_os("FINSCOPE_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, file, conn, extra) in SNAPSHOTS {
        let mut args = vec!["show"];
        args.extend_from_slice(extra);
        let path = format!("testdata/{file}");
        args.push(&path);
        args.push(conn);
        // Run from the checkout so the file name in the header is relative.
        let out = common::bin()
            .current_dir(root)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = String::from_utf8(out.stdout).unwrap();
        let snap = root.join(format!("tests/snapshots/show-{name}.txt"));
        if bless {
            std::fs::write(&snap, &got).unwrap();
        } else if std::fs::read_to_string(&snap).ok().as_deref() != Some(got.as_str()) {
            eprintln!("--- {name} now:\n{got}");
            stale.push(*name);
        }
    }
    assert!(
        stale.is_empty(),
        "stale: {stale:?}; check the diagrams above, then FINSCOPE_BLESS=1 cargo test --test show"
    );
}

fn td(name: &str) -> String {
    common::testdata(name).to_string_lossy().into_owned()
}

#[test]
fn the_diagram_says_who_closed_what_was_lost_and_who_waits() {
    let out = run(&["show", &td("final-ack-lost.pcap"), "1"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("ending: graceful, closed by the client"),
        "{text}"
    );
    assert!(
        text.contains("left waiting: the client in TIME-WAIT"),
        "{text}"
    );
    assert_eq!(text.matches("↻ retransmission").count(), 4, "{text}");
    assert!(text.contains("⚠ final-ack-lost (warning)"), "{text}");
    // The states follow the textbook close.
    for state in [
        "SYN-SENT",
        "SYN-RECEIVED",
        "ESTABLISHED",
        "FIN-WAIT-1",
        "FIN-WAIT-2",
        "LAST-ACK",
        "TIME-WAIT",
    ] {
        assert!(text.contains(state), "{state} missing:\n{text}");
    }

    let out = run(&["show", &td("close-wait.pcap"), "1"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("the server in CLOSE-WAIT"), "{text}");
}

#[test]
fn a_connection_is_picked_by_id_or_by_addresses_in_either_order() {
    let by_id = run(&["show", &td("rst-server.pcap"), "1"]).stdout;
    // The client's port is in the capture; find it from analyze.
    let report = common::analyze(&td("rst-server.pcap"), &[]);
    let c = &report.connections[0];
    for conn in [
        format!("{}-{}", c.client, c.server),
        format!("{}-{}", c.server, c.client),
    ] {
        let out = run(&["show", &td("rst-server.pcap"), &conn]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(out.stdout, by_id, "{conn}");
    }
    // IPv6, in brackets.
    let v6 = common::analyze(&td("ipv6.pcap"), &[]);
    let c = &v6.connections[0];
    let out = run(&[
        "show",
        &td("ipv6.pcap"),
        &format!("{}-{}", c.client, c.server),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&c.server));
}

#[test]
fn later_connections_on_the_same_addresses_are_named() {
    let report = common::analyze(&td("tw-reuse-accepted.pcap"), &[]);
    let first = report
        .connections
        .iter()
        .find(|c| {
            report
                .connections
                .iter()
                .any(|d| d.id != c.id && d.client == c.client && d.server == c.server)
        })
        .expect("a reused tuple");
    let out = run(&[
        "show",
        &td("tw-reuse-accepted.pcap"),
        &format!("{}-{}", first.client, first.server),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!("connection #{}", first.id)),
        "{text}"
    );
    assert!(
        text.contains("later connections on the same addresses: #"),
        "{text}"
    );
}

#[test]
fn the_data_phase_folds_unless_full() {
    let folded = String::from_utf8(run(&["show", &td("lossy.pcap"), "1"]).stdout).unwrap();
    let full = String::from_utf8(run(&["show", "--full", &td("lossy.pcap"), "1"]).stdout).unwrap();
    assert!(folded.contains("segments folded"));
    assert!(!full.contains("segments folded"));
    let report = common::analyze(&td("lossy.pcap"), &[]);
    let c = &report.connections[0];
    let arrows = full.matches("──▶").count() + full.matches("◀─").count();
    assert_eq!(
        arrows as u64,
        c.packets.client
            + c.packets.server
            + c.duplicate_packets.client
            + c.duplicate_packets.server
    );
    assert!(folded.lines().count() < 40, "{folded}");
}

#[test]
fn unknown_connections_are_errors() {
    for conn in ["99", "10.0.0.1:1-10.0.0.2:2", "nonsense"] {
        let out = run(&["show", &td("graceful-client.pcap"), conn]);
        assert_eq!(out.status.code(), Some(2), "{conn}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(conn), "{err}");
    }
}
