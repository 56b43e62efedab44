//! Findings about how a connection was torn down in detail: zero windows
//! (a real kernel capture) and what no kernel produces on its own (data
//! after a FIN, injected RSTs, RSTs with payload, one-sided captures),
//! from crafted segments.

mod common;

use common::*;

const C: u32 = 1000;
const S: u32 = 5000;

/// Handshake and 100 bytes each way.
fn opened() -> Vec<Seg> {
    vec![
        seg(true, SYN, C, 0, 0),
        seg(false, SYN_ACK, S, C + 1, 0),
        seg(true, ACK, C + 1, S + 1, 0),
        seg(true, PSH_ACK, C + 1, S + 1, 100),
        seg(false, PSH_ACK, S + 1, C + 101, 100),
        seg(true, ACK, C + 101, S + 101, 0),
    ]
}

#[track_caller]
fn the<'a>(r: &'a Report, kind: &str, severity: &str) -> &'a Finding {
    let f = r.findings_of(kind);
    assert_eq!(f.len(), 1, "{kind}: {:#?}", r.findings);
    assert_eq!(f[0].severity, severity);
    f[0]
}

#[test]
fn zero_window_that_never_reopens() {
    let r = analyze("zero-window.pcap", &["--stall", "2s"]);
    let c = r.only();
    assert_eq!(c.teardown, "open");
    let f = the(&r, "zero-window-stall", "warning");
    assert_eq!(f.evidence["receiver"], "server");
    assert_eq!(f.evidence["reopened"], false);
    assert_eq!(f.evidence["probes"], 4);
    let closed = f.evidence["closed_s"].as_f64().unwrap();
    assert!((3.0..3.5).contains(&closed), "{closed}");
    // Not yet a stall under the default 60 s.
    assert!(analyze("zero-window.pcap", &[])
        .findings_of("zero-window-stall")
        .is_empty());
}

#[test]
fn payload_after_the_fin() {
    let mut s = opened();
    s.push(seg(true, FIN_ACK, C + 101, S + 101, 0));
    s.push(seg(false, ACK, S + 101, C + 102, 0));
    // 20 bytes starting at the FIN's own sequence number.
    s.push(seg(true, PSH_ACK, C + 101, S + 101, 20));
    let r = analyze_bytes("after-fin.pcap", &crafted_pcap(&s), &[]);
    let f = the(&r, "data-after-fin", "error");
    assert_eq!(f.evidence["by"], "client");
    assert_eq!(f.evidence["bytes"], 20);
    assert_eq!(f.evidence["frame"], 9);
}

#[test]
fn rst_followed_by_more_segments_or_another_ttl_looks_injected() {
    let mut s = opened();
    // A RST "from the server" with a TTL 20 hops off, then the server
    // carries on as if nothing happened.
    s.push(Seg {
        ttl: 44,
        ..seg(false, RST_ACK, S + 101, C + 101, 0)
    });
    s.push(seg(false, PSH_ACK, S + 101, C + 101, 50));
    let r = analyze_bytes("injected.pcap", &crafted_pcap(&s), &[]);
    let f = the(&r, "rst-suspected-injection", "warning");
    assert_eq!(f.evidence["by"], "server");
    assert_eq!(f.evidence["rst_ttl"], 44);
    assert_eq!(f.evidence["usual_ttl"], 64);
    assert_eq!(f.evidence["segments_after"], 1);
    // The same RST from the server's own stack is only an abort.
    let mut clean = opened();
    clean.push(seg(false, RST_ACK, S + 101, C + 101, 0));
    let r = analyze_bytes("abort.pcap", &crafted_pcap(&clean), &[]);
    assert!(r.findings_of("rst-suspected-injection").is_empty());
    assert_eq!(r.findings_of("rst-abort").len(), 1);
    assert!(
        r.findings_of("rst-discards-data").is_empty(),
        "{:#?}",
        r.findings
    );
}

#[test]
fn rst_discarding_unacknowledged_data() {
    let mut s = opened();
    // The client sends 500 bytes; 10 ms (five round trips) later the
    // server, never having acked them, resets.
    s.push(seg(true, PSH_ACK, C + 101, S + 101, 500));
    s.push(Seg {
        gap_ms: 10,
        ..seg(false, RST, S + 101, 0, 0)
    });
    let r = analyze_bytes("discard.pcap", &crafted_pcap(&s), &[]);
    let f = the(&r, "rst-discards-data", "error");
    assert_eq!(f.evidence["by"], "server");
    assert_eq!(f.evidence["unacked_bytes"], 500);
    // A RST+ACK that acknowledges those bytes discards nothing at TCP's level.
    let mut acked = opened();
    acked.push(seg(true, PSH_ACK, C + 101, S + 101, 500));
    acked.push(Seg {
        gap_ms: 10,
        ..seg(false, RST_ACK, S + 101, C + 601, 0)
    });
    let r = analyze_bytes("acked.pcap", &crafted_pcap(&acked), &[]);
    assert!(
        r.findings_of("rst-discards-data").is_empty(),
        "{:#?}",
        r.findings
    );
    // Data younger than a round trip may still have been in flight to the
    // receiver: not claimed.
    let mut young = opened();
    young.push(seg(true, PSH_ACK, C + 101, S + 101, 500));
    young.push(seg(false, RST, S + 101, 0, 0));
    let r = analyze_bytes("young.pcap", &crafted_pcap(&young), &[]);
    assert!(
        r.findings_of("rst-discards-data").is_empty(),
        "{:#?}",
        r.findings
    );
    // A RST carrying payload is reported as such.
    let mut payload = opened();
    payload.push(seg(false, RST_ACK, S + 101, C + 101, 12));
    let r = analyze_bytes("rst-payload.pcap", &crafted_pcap(&payload), &[]);
    assert_eq!(
        the(&r, "rst-discards-data", "error").evidence["rst_payload"],
        12
    );
}

#[test]
fn one_sided_capture_is_not_called_unanswered() {
    // Only the client's direction was captured: its ACKs and data prove the
    // server answered.
    let s = vec![
        seg(true, SYN, C, 0, 0),
        seg(true, ACK, C + 1, S + 1, 0),
        seg(true, PSH_ACK, C + 1, S + 1, 100),
        seg(true, FIN_ACK, C + 101, S + 1, 0),
    ];
    let r = analyze_bytes("one-sided.pcap", &crafted_pcap(&s), &["--stall", "1ms"]);
    let c = r.only();
    assert_eq!(c.handshake, "complete");
    assert_eq!(c.teardown, "closing");
    assert!(r.findings_of("no-answer").is_empty(), "{:#?}", r.findings);
    assert!(
        r.findings_of("fin-unacked").is_empty(),
        "nothing from the server was captured: {:#?}",
        r.findings
    );
}

#[test]
fn clean_captures_stay_silent() {
    // What a clean close must not trigger, on graceful closes, a half-close,
    // a transfer that lost 3 % of its packets (retransmitted), and a capture
    // on `any` where every packet appears twice.
    let hazards = [
        "data-after-fin",
        "rst-suspected-injection",
        "rst-discards-data",
        "zero-window-stall",
        "time-wait-accumulation",
        "close-wait-accumulation",
        "capture-gap",
        "final-ack-lost",
        "time-wait-extended",
        "last-ack-reset",
        "syn-on-time-wait",
        "time-wait-assassination",
        "syn-on-open-tuple",
        "fin-unacked",
        "rst-abort",
        "rst-after-fin",
    ];
    for file in [
        "graceful-client.pcap",
        "graceful-server.pcap",
        "three-way-close.pcap",
        "half-close.pcap",
        "ipv6.pcap",
        "snaplen.pcap",
        "lossy.pcap",
        "any-duplicates.pcap",
    ] {
        let r = analyze(file, &["--stall", "1ms"]);
        for kind in hazards {
            assert!(
                r.findings_of(kind).is_empty(),
                "{file}: {kind}: {:#?}",
                r.findings
            );
        }
        assert!(
            r.connections.iter().all(|c| c.teardown == "graceful"),
            "{file}"
        );
    }
    // The lossy transfer really lost packets, and the kernels resent them.
    let lossy = analyze("lossy.pcap", &[]);
    let c = lossy.only();
    assert_eq!(
        c.bytes,
        Sides {
            client: 2 << 20,
            server: 2 << 20
        }
    );
    assert!(
        c.retransmitted_bytes.client > 0 && c.retransmitted_bytes.server > 0,
        "{c:#?}"
    );
    assert_eq!(c.missed_bytes, 0);
}

#[test]
fn simultaneous_close_both_hold_time_wait() {
    // Both FINs were in flight at once (each side's first FIN dropped by
    // nftables until the other had closed too).
    let r = analyze("simultaneous-close.pcap", &[]);
    let c = r.only();
    assert_eq!(
        (
            c.teardown.as_str(),
            c.closer.as_deref(),
            c.time_wait.as_deref()
        ),
        ("simultaneous", Some("both"), Some("both"))
    );
    assert_eq!(
        c.state,
        Sides {
            client: "TIME-WAIT".to_string(),
            server: "TIME-WAIT".to_string()
        }
    );
    assert_eq!(c.zeek.conn_state, "SF");
    for kind in [
        "final-ack-lost",
        "last-ack-reset",
        "time-wait-assassination",
        "syn-on-time-wait",
    ] {
        assert!(r.findings_of(kind).is_empty(), "{kind}");
    }
}

#[test]
fn final_ack_lost_and_time_wait_extended() {
    let r = analyze("final-ack-lost.pcap", &[]);
    let c = r.only();
    assert_eq!(
        (c.teardown.as_str(), c.time_wait.as_deref()),
        ("graceful", Some("client"))
    );
    let f = the(&r, "final-ack-lost", "warning");
    assert_eq!(f.evidence["holder"], "client");
    assert_eq!(f.evidence["retransmitted_after_ack"], 4);
    let x = the(&r, "time-wait-extended", "info");
    assert_eq!(x.evidence["reacks"], 4);
    assert!(r.findings_of("last-ack-reset").is_empty());
}

#[test]
fn last_ack_answered_by_reset() {
    // The client kept no TIME-WAIT (tcp_max_tw_buckets 0).
    let r = analyze("last-ack-reset.pcap", &[]);
    let c = r.only();
    let f = the(&r, "last-ack-reset", "error");
    assert_eq!(f.evidence["by"], "client");
    assert_eq!(f.evidence["with_ack"], false);
    assert_eq!(
        the(&r, "final-ack-lost", "warning").evidence["retransmitted_after_ack"],
        1
    );
    // The RST is this finding, not a generic rst-after-fin or an abort.
    assert!(r.findings_of("rst-after-fin").is_empty());
    assert!(r.findings_of("time-wait-assassination").is_empty());
    assert_eq!(c.teardown, "graceful");
}

#[test]
fn reconnect_into_time_wait_accepted() {
    let r = analyze("tw-reuse-accepted.pcap", &[]);
    assert_eq!(r.connections.len(), 2);
    assert_eq!(r.connections[0].time_wait.as_deref(), Some("server"));
    let second = &r.connections[1];
    assert_eq!(
        second.client, r.connections[0].client,
        "the same source port"
    );
    assert_eq!(
        (second.handshake.as_str(), second.teardown.as_str()),
        ("complete", "graceful")
    );
    let f = the(&r, "syn-on-time-wait", "warning");
    assert_eq!(f.connection, Some(second.id));
    assert_eq!(f.evidence["outcome"], "accepted");
    assert_eq!(f.evidence["rfc6191_allowed"], true);
    assert_eq!(f.evidence["judged_by"], "timestamps");
    assert_eq!(f.evidence["time_wait_connection"], 1);
    assert!(r.findings_of("time-wait-assassination").is_empty());
}

#[test]
fn reconnect_into_time_wait_rejected_then_assassinated() {
    // Timestamps off and 100 MB sent: the new ISN is below what the server
    // last received, so its TIME-WAIT answers with an old ACK; the client's
    // RST to that ACK kills the TIME-WAIT and the retried SYN gets in.
    let r = analyze("tw-reuse-rejected.pcap", &[]);
    let kinds: Vec<(&str, &str)> = r
        .connections
        .iter()
        .map(|c| (c.handshake.as_str(), c.teardown.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("complete", "graceful"),
            ("syn-only", "handshake-failed"),
            ("complete", "graceful")
        ]
    );
    let attempt = &r.connections[1];
    let f = the(&r, "syn-on-time-wait", "warning");
    assert_eq!(f.connection, Some(attempt.id));
    assert_eq!(f.evidence["outcome"], "rejected");
    assert_eq!(f.evidence["rfc6191_allowed"], false);
    assert_eq!(f.evidence["judged_by"], "sequence numbers");
    let a = the(&r, "time-wait-assassination", "warning");
    assert_eq!(a.connection, Some(attempt.id));
    assert_eq!(a.evidence["holder"], "10.77.0.2:8080");
    // The stale ACK belongs to the old connection: no bytes were "missed".
    assert_eq!(attempt.missed_bytes, 0);
    assert!(r.findings_of("capture-gap").is_empty(), "{:#?}", r.findings);
}

#[test]
fn syn_on_a_tuple_still_open() {
    let mut s = vec![
        seg(true, SYN, C, 0, 0),
        seg(false, SYN_ACK, S, C + 1, 0),
        seg(true, ACK, C + 1, S + 1, 0),
    ];
    // A new SYN, new ISN, same tuple, while the first is established.
    s.push(seg(true, SYN, C + 77_777, 0, 0));
    let r = analyze_bytes("open-tuple.pcap", &crafted_pcap(&s), &[]);
    assert_eq!(r.connections.len(), 2);
    let f = the(&r, "syn-on-open-tuple", "error");
    assert_eq!(f.connection, Some(r.connections[1].id));
    assert_eq!(f.evidence["open_connection"], r.connections[0].id);
    assert_eq!(f.evidence["server_state"], "ESTABLISHED");
}
