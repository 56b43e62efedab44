//! Each testdata capture (real Linux TCP stacks, see testdata/README.md)
//! gives the verdict a TCP expert would write down, field by field.

mod common;

use common::{analyze, Conn, Report, Sides};

fn sides<T>(client: T, server: T) -> Sides<T> {
    Sides { client, server }
}

/// The verdict fields every scenario states.
#[track_caller]
fn verdict(
    c: &Conn,
    handshake: &str,
    teardown: &str,
    closer: Option<&str>,
    time_wait: Option<&str>,
    states: (&str, &str),
) {
    assert_eq!(c.handshake, handshake, "handshake of {c:#?}");
    assert_eq!(c.teardown, teardown, "teardown of {c:#?}");
    assert_eq!(c.closer.as_deref(), closer, "closer of {c:#?}");
    assert_eq!(c.time_wait.as_deref(), time_wait, "time_wait of {c:#?}");
    assert_eq!(
        c.state,
        sides(states.0.to_string(), states.1.to_string()),
        "states of {c:#?}"
    );
}

#[track_caller]
fn zeek(c: &Conn, conn_state: &str, history: &str) {
    assert_eq!(
        (c.zeek.conn_state.as_str(), c.zeek.history.as_str()),
        (conn_state, history),
        "zeek of {c:#?}"
    );
}

/// The one finding of `kind`, which must have `severity`.
#[track_caller]
fn the_finding<'a>(r: &'a Report, kind: &str, severity: &str) -> &'a common::Finding {
    let f = r.findings_of(kind);
    assert_eq!(f.len(), 1, "{kind}: {:#?}", r.findings);
    assert_eq!(f[0].severity, severity, "{kind}: {:#?}", f[0]);
    f[0]
}

#[track_caller]
fn no_findings(r: &Report) {
    assert!(
        r.findings.is_empty(),
        "unexpected findings: {:#?}",
        r.findings
    );
}

#[test]
fn graceful_close_by_client() {
    let r = analyze("graceful-client.pcap", &[]);
    assert_eq!(r.status, 0);
    let c = r.only();
    assert_eq!(
        (c.client.as_str(), c.server.as_str()),
        ("10.77.0.1:43668", "10.77.0.2:8080")
    );
    assert!(!c.role_inferred);
    verdict(
        c,
        "complete",
        "graceful",
        Some("client"),
        Some("client"),
        ("TIME-WAIT", "CLOSED"),
    );
    zeek(c, "SF", "ShADadFf");
    assert_eq!(c.packets, sides(6, 5));
    assert_eq!(c.bytes, sides(38, 51));
    assert_eq!(c.retransmitted_bytes, sides(0, 0));
    assert_eq!(c.missed_bytes, 0);
    assert_eq!(c.first_seen, "2026-11-23T20:43:56.815070Z");
    no_findings(&r);
    assert_eq!(r.summary.teardown["graceful"], 1);
}

#[test]
fn graceful_close_by_server_puts_time_wait_on_the_server() {
    let r = analyze("graceful-server.pcap", &[]);
    let c = r.only();
    verdict(
        c,
        "complete",
        "graceful",
        Some("server"),
        Some("server"),
        ("CLOSED", "TIME-WAIT"),
    );
    zeek(c, "SF", "ShADadfF");
    no_findings(&r);
}

#[test]
fn three_packet_fin_ack_close_is_graceful() {
    let r = analyze("three-way-close.pcap", &[]);
    let c = r.only();
    // FIN, FIN+ACK, ACK: the server's FIN carries the ACK of the client's.
    assert_eq!(c.packets, sides(6, 4));
    verdict(
        c,
        "complete",
        "graceful",
        Some("client"),
        Some("client"),
        ("TIME-WAIT", "CLOSED"),
    );
    zeek(c, "SF", "ShADadFf");
    no_findings(&r);
}

#[test]
fn half_close_with_data_after_the_fin() {
    let r = analyze("half-close.pcap", &[]);
    let c = r.only();
    verdict(
        c,
        "complete",
        "graceful",
        Some("client"),
        Some("client"),
        ("TIME-WAIT", "CLOSED"),
    );
    zeek(c, "SF", "ShADaFdf");
    assert_eq!(c.bytes, sides(38, 69));
    assert_eq!(c.findings, vec!["half-close"]);
    let f = the_finding(&r, "half-close", "info");
    assert_eq!(f.connection, Some(c.id));
    assert_eq!(f.evidence["by"], "server");
    assert_eq!(f.evidence["bytes"], 69);
    assert_eq!(f.evidence["packets"], 3);
}

#[test]
fn close_wait_that_never_closes() {
    let r = analyze("close-wait.pcap", &["--stall", "2s"]);
    assert_eq!(r.connections.len(), 2);
    let leak = &r.connections[0];
    verdict(
        leak,
        "complete",
        "half-closed",
        Some("client"),
        None,
        ("FIN-WAIT-2", "CLOSE-WAIT"),
    );
    zeek(leak, "S2", "ShADaF");
    assert_eq!(leak.findings, vec!["close-wait-stall"]);
    let f = the_finding(&r, "close-wait-stall", "warning");
    assert_eq!(f.evidence["by"], "server");
    assert!(f.evidence["closed_frame"].is_null());
    let quiet = f.evidence["quiet_s"].as_f64().unwrap();
    assert!((2.9..3.1).contains(&quiet), "quiet {quiet}");
    // The connection 3 s later shows the capture went on; it is clean.
    let later = &r.connections[1];
    verdict(
        later,
        "complete",
        "graceful",
        Some("client"),
        Some("client"),
        ("TIME-WAIT", "CLOSED"),
    );
    assert!(later.findings.is_empty());
}

#[test]
fn close_wait_is_not_a_stall_before_the_threshold() {
    // With the default 60 s stall, 3 s in CLOSE-WAIT is not yet a finding.
    let r = analyze("close-wait.pcap", &[]);
    assert_eq!(r.connections[0].teardown, "half-closed");
    assert!(r.findings_of("close-wait-stall").is_empty());
}

#[test]
fn rst_abort_by_the_client() {
    let r = analyze("rst-client.pcap", &[]);
    let c = r.only();
    verdict(
        c,
        "complete",
        "reset",
        Some("client"),
        None,
        ("CLOSED", "CLOSED"),
    );
    zeek(c, "RSTO", "ShADadR");
    let f = the_finding(&r, "rst-abort", "warning");
    assert_eq!(f.evidence["by"], "client");
    assert_eq!(f.evidence["with_ack"], true);
    assert_eq!(f.evidence["seq_is_next"], true);
    assert_eq!(f.evidence["state_before"], "ESTABLISHED");
    assert_eq!(f.evidence["frame"], 8);
}

#[test]
fn rst_abort_by_the_server() {
    let r = analyze("rst-server.pcap", &[]);
    let c = r.only();
    verdict(
        c,
        "complete",
        "reset",
        Some("server"),
        None,
        ("CLOSED", "CLOSED"),
    );
    zeek(c, "RSTR", "ShADadr");
    assert_eq!(c.findings, vec!["rst-abort"]);
    assert_eq!(r.findings_of("rst-abort")[0].evidence["by"], "server");
}

#[test]
fn rst_from_closing_with_unread_data() {
    let r = analyze("rst-unread.pcap", &[]);
    let c = r.only();
    verdict(
        c,
        "complete",
        "reset",
        Some("server"),
        None,
        ("CLOSED", "CLOSED"),
    );
    zeek(c, "RSTR", "ShADar");
    assert_eq!(c.bytes, sides(1038, 0));
    let f = the_finding(&r, "rst-abort", "warning");
    assert_eq!(f.evidence["by"], "server");
    assert!(r.findings_of("rst-after-fin").is_empty());
}

#[test]
fn refused_connection() {
    let r = analyze("refused.pcap", &[]);
    let c = r.only();
    verdict(c, "refused", "refused", None, None, ("CLOSED", "CLOSED"));
    zeek(c, "REJ", "Sr");
    assert_eq!(c.packets, sides(1, 1));
    let f = the_finding(&r, "refused", "info");
    assert_eq!(f.evidence["syn_frame"], 1);
    assert_eq!(f.evidence["rst_frame"], 2);
}

#[test]
fn syn_never_answered() {
    let r = analyze("no-answer.pcap", &[]);
    let c = r.only();
    verdict(
        c,
        "syn-only",
        "no-answer",
        None,
        None,
        ("SYN-SENT", "CLOSED"),
    );
    zeek(c, "S0", "S");
    assert_eq!(c.packets, sides(4, 0));
    let f = the_finding(&r, "no-answer", "warning");
    assert_eq!(f.evidence["syns"], 4);
    assert_eq!(f.evidence["retransmissions"], 3);
}

#[test]
fn fin_never_acknowledged_is_retransmitted() {
    let r = analyze("fin-unacked.pcap", &[]);
    let c = r.only();
    verdict(
        c,
        "complete",
        "closing",
        Some("client"),
        None,
        ("FIN-WAIT-1", "ESTABLISHED"),
    );
    zeek(c, "S2", "ShADadF");
    assert_eq!(c.findings, vec!["fin-retransmission", "fin-unacked"]);
    let retx = r.findings_of("fin-retransmission");
    assert_eq!(
        retx[0].severity, "warning",
        "5 retransmissions ≥ --fin-retries 3"
    );
    assert_eq!(retx[0].evidence["retransmissions"], 5);
    assert_eq!(retx[0].evidence["acked"], false);
    let unacked = r.findings_of("fin-unacked");
    assert_eq!(unacked[0].severity, "warning");
    assert_eq!(unacked[0].evidence["by"], "client");
    // With a higher bar, the retransmissions are only informational.
    let r = analyze(
        "fin-unacked.pcap",
        &["--fin-retries", "6", "--stall", "10s"],
    );
    assert_eq!(r.findings_of("fin-retransmission")[0].severity, "info");
    assert!(
        r.findings_of("fin-unacked").is_empty(),
        "5 < 6 retries and 3.3 s < 10 s watched"
    );
}

#[test]
fn capture_starting_midstream() {
    let r = analyze("midstream.pcap", &[]);
    let c = r.only();
    assert!(c.role_inferred);
    assert_eq!(c.server, "10.77.0.2:8080", "8080 is a likely server port");
    verdict(
        c,
        "midstream",
        "graceful",
        Some("client"),
        Some("client"),
        ("TIME-WAIT", "CLOSED"),
    );
    assert_eq!(c.findings, vec!["midstream"]);
    assert_eq!(r.findings_of("midstream")[0].severity, "info");
}

#[test]
fn ipv6_addresses_in_brackets() {
    let r = analyze("ipv6.pcap", &[]);
    let c = r.only();
    assert_eq!(c.client, "[fd77::1]:52518");
    assert_eq!(c.server, "[fd77::2]:8080");
    verdict(
        c,
        "complete",
        "graceful",
        Some("client"),
        Some("client"),
        ("TIME-WAIT", "CLOSED"),
    );
    zeek(c, "SF", "ShADadFf");
    no_findings(&r);
}

#[test]
fn capture_on_any_with_duplicates() {
    let r = analyze("any-duplicates.pcap", &[]);
    let c = r.only();
    // Every packet was captured twice (into and out of the router): the
    // copies are duplicates, not retransmissions.
    assert_eq!(r.summary.packets, 22);
    assert_eq!(r.summary.duplicate_packets, 11);
    assert_eq!(c.duplicate_packets, sides(6, 5));
    assert_eq!(c.packets, sides(6, 5));
    assert_eq!(c.retransmitted_bytes, sides(0, 0));
    assert_eq!(c.bytes, sides(38, 51));
    verdict(
        c,
        "complete",
        "graceful",
        Some("client"),
        Some("client"),
        ("TIME-WAIT", "CLOSED"),
    );
    // Zeek sees the copies and calls them retransmissions (T, t); its
    // conn_state is unaffected.
    zeek(c, "SF", "ShADTadtFf");
    assert_eq!(c.findings, vec!["duplicate-packets"]);
    let f = the_finding(&r, "duplicate-packets", "info");
    assert_eq!(f.evidence["duplicates"]["client"], 6);
    assert_eq!(f.evidence["duplicates"]["server"], 5);
}

#[test]
fn a_data_segment_lost_by_the_capture_is_a_capture_gap() {
    // graceful-server.pcap without frame 6, the server's 51-byte reply: the
    // client acked it and nobody retransmitted it, so the capture lost it.
    let bytes = std::fs::read(common::testdata("graceful-server.pcap")).unwrap();
    let mut out = bytes[..24].to_vec();
    let (mut at, mut frame) = (24, 0);
    while at + 16 <= bytes.len() {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        frame += 1;
        if frame != 6 {
            out.extend_from_slice(&bytes[at..at + 16 + caplen]);
        }
        at += 16 + caplen;
    }
    let dir = std::env::temp_dir().join(format!("finscope-gap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("lossy.pcap");
    std::fs::write(&f, out).unwrap();
    let r = common::parse_jsonl(&common::run(&[
        "analyze",
        "--format",
        "jsonl",
        f.to_str().unwrap(),
    ]));
    let c = r.only();
    assert_eq!(c.missed_bytes, 51);
    assert_eq!(c.bytes, sides(38, 0));
    assert_eq!(c.retransmitted_bytes, sides(0, 0));
    // The close is still graceful: the gap explains nothing away.
    verdict(
        c,
        "complete",
        "graceful",
        Some("server"),
        Some("server"),
        ("CLOSED", "TIME-WAIT"),
    );
    let g = the_finding(&r, "capture-gap", "info");
    assert_eq!(g.evidence["missed_bytes"]["server"], 51);
    assert_eq!(g.evidence["missed_bytes"]["client"], 0);
    // Zeek marks the gap in its history too ('g', the server's side).
    assert!(c.zeek.history.contains('g'), "{}", c.zeek.history);
}

#[test]
fn nanosecond_pcap_keeps_nanoseconds() {
    let r = analyze("nanosecond.pcap", &[]);
    let c = r.only();
    assert_eq!(c.first_seen, "2026-11-23T20:44:16.751897120Z");
    assert_eq!(
        r.summary.capture_start.as_deref(),
        Some("2026-11-23T20:44:16.751897120Z")
    );
    verdict(
        c,
        "complete",
        "graceful",
        Some("client"),
        Some("client"),
        ("TIME-WAIT", "CLOSED"),
    );
}

#[test]
fn snaplen_cut_frames_keep_their_wire_lengths() {
    let r = analyze("snaplen.pcap", &[]);
    let c = r.only();
    assert_eq!(r.summary.files[0].snaplen_cut, 5);
    assert_eq!(
        c.bytes,
        sides(38, 32000),
        "lengths from the IP header, not the 96 captured bytes"
    );
    assert_eq!(c.missed_bytes, 0);
    verdict(
        c,
        "complete",
        "graceful",
        Some("client"),
        Some("client"),
        ("TIME-WAIT", "CLOSED"),
    );
    no_findings(&r);
}

#[test]
fn pcapng_with_two_interfaces() {
    let r = analyze("pcapng.pcapng", &[]);
    assert_eq!(r.summary.files[0].format, "pcapng");
    assert_eq!(r.connections.len(), 2);
    assert_eq!(r.connections[0].server, "10.77.0.2:8080");
    assert_eq!(r.connections[1].server, "127.0.0.1:8080");
    for c in &r.connections {
        verdict(
            c,
            "complete",
            "graceful",
            Some("client"),
            Some("client"),
            ("TIME-WAIT", "CLOSED"),
        );
    }
    // dumpcap records nanoseconds (if_tsresol 9).
    assert_eq!(
        r.connections[0].first_seen,
        "2026-11-23T20:44:21.678562429Z"
    );
    // ARP and ICMPv6 on the unfiltered interface are counted, not analyzed.
    assert_eq!(r.summary.packets, 34);
    assert_eq!(r.summary.tcp_packets, 22);
    assert_eq!(r.summary.not_decoded.get("not-ip"), Some(&2));
    assert_eq!(r.summary.not_decoded.get("not-tcp"), Some(&10));
}

#[test]
fn connection_records_stream_before_the_summary() {
    let r = analyze("close-wait.pcap", &["--stall", "2s"]);
    assert_eq!(r.order.last(), Some(&"summary"));
    // Each connection's findings follow it.
    assert_eq!(
        r.order,
        vec!["connection", "finding", "connection", "summary"]
    );
    assert_eq!(r.summary.schema, "finscope/1");
    assert_eq!(r.summary.connections, 2);
}

#[test]
fn idle_timeout_ends_a_connection_and_later_packets_start_another() {
    // graceful-client.pcap is quiet for 0.1 s before the client's FIN and
    // 0.16 s before the server's: with a 50 ms idle timeout each quiet
    // stretch ends a connection, and the next packet starts one midstream.
    let r = analyze("graceful-client.pcap", &["--idle-timeout", "50ms"]);
    let got: Vec<(&str, &str, &str)> = r
        .connections
        .iter()
        .map(|c| {
            (
                c.handshake.as_str(),
                c.teardown.as_str(),
                c.ended_by.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("complete", "idle-timeout", "idle-timeout"),
            ("midstream", "half-closed", "idle-timeout"),
            ("midstream", "half-closed", "capture-end"),
        ]
    );
    assert_eq!(r.summary.evictions["idle_timeout"], 2);
    // Without the timeout it is one graceful connection.
    assert_eq!(
        analyze("graceful-client.pcap", &[]).only().teardown,
        "graceful"
    );
}

#[test]
fn time_wait_piling_up_toward_one_server() {
    // 150 short connections from one client, each closed by the client
    // first: the client holds them all in TIME-WAIT toward 10.77.0.2:8080.
    let r = analyze("tw-pileup.pcap", &["--tw-accumulation", "100"]);
    assert_eq!(r.connections.len(), 150);
    assert!(r
        .connections
        .iter()
        .all(|c| c.time_wait.as_deref() == Some("client")));
    let f = the_finding(&r, "time-wait-accumulation", "warning");
    assert_eq!(f.connection, None);
    assert_eq!(f.evidence["peak"], 150);
    assert_eq!(f.evidence["toward"], "10.77.0.2:8080");
    assert_eq!(f.evidence["connections"], 150);
    assert!(
        f.message
            .starts_with("10.77.0.1 held 150 connections in TIME-WAIT toward 10.77.0.2:8080"),
        "{}",
        f.message
    );
    // With a TIME-WAIT shorter than the gaps between connections, they
    // never overlap much: no finding (the 2MSL window is what piles up).
    let short = analyze(
        "tw-pileup.pcap",
        &["--tw-accumulation", "100", "--time-wait", "50ms"],
    );
    assert!(short.findings_of("time-wait-accumulation").is_empty());
    // Below the default threshold of 1000: silent.
    assert!(analyze("tw-pileup.pcap", &[])
        .findings_of("time-wait-accumulation")
        .is_empty());
}

#[test]
fn close_wait_piling_up_on_a_leaking_server() {
    let r = analyze("cw-pileup.pcap", &["--cw-accumulation", "20"]);
    assert_eq!(r.connections.len(), 30);
    assert!(r
        .connections
        .iter()
        .all(|c| c.state.server == "CLOSE-WAIT" && c.teardown == "half-closed"));
    let f = the_finding(&r, "close-wait-accumulation", "warning");
    assert_eq!(f.evidence["peak"], 30);
    assert_eq!(f.evidence["connections"], 30);
    assert!(
        f.message
            .starts_with("10.77.0.2 held 30 connections in CLOSE-WAIT"),
        "{}",
        f.message
    );
    assert!(analyze("cw-pileup.pcap", &[])
        .findings_of("close-wait-accumulation")
        .is_empty());
    // Clean captures stay silent at any threshold.
    for clean in [
        "graceful-client.pcap",
        "half-close.pcap",
        "any-duplicates.pcap",
    ] {
        let r = analyze(clean, &["--tw-accumulation", "2", "--cw-accumulation", "2"]);
        assert!(
            r.findings_of("time-wait-accumulation").is_empty(),
            "{clean}"
        );
        assert!(
            r.findings_of("close-wait-accumulation").is_empty(),
            "{clean}"
        );
    }
}
