//! Arbitrary frames through the decoder, for each link type it knows.
#![no_main]

use finscope::decode::{decode, fast_path_agrees, Linktype};
use libfuzzer_sys::fuzz_target;

const LINKTYPES: [u32; 9] = [
    Linktype::NULL,
    Linktype::ETHERNET,
    Linktype::RAW,
    Linktype::LOOP,
    Linktype::LINUX_SLL,
    Linktype::IPV4,
    Linktype::IPV6,
    Linktype::LINUX_SLL2,
    147, // unsupported
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else {
        return;
    };
    let linktype = LINKTYPES[usize::from(selector) % LINKTYPES.len()];
    if let Ok(seg) = decode(linktype, frame) {
        // What a decoded segment promises.
        assert!(seg.payload.len() as u64 <= u64::from(seg.fields.payload_len));
    }
    // The IPv4 fast path decodes as etherparse's general path would.
    assert!(fast_path_agrees(frame));
});
