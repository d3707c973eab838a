//! The salvage harnesses (`salvage.rs`) driven by proptest, so `cargo test` checks their
//! invariants on generated inputs without cargo-fuzz (nightly). The input is the fuzz
//! bytes themselves: every byte string is a case, and a failure shrinks to a short one.

use proptest::prelude::*;

use super::{salvage, salvage_scan};

/// A shaped case's bytes: flags, a line cap, an envelope byte, a short userAgent, then
/// a value description (see `salvage::Gen::value`).
fn case(flags: u8, cap: u16, envelope: u8, value: Vec<u8>) -> Vec<u8> {
    let mut v = vec![flags];
    v.extend(cap.to_le_bytes());
    v.extend([envelope, 3, b'k', b'u', b'b']);
    v.extend(value);
    v
}

/// Inputs shaped like the fuzzer's (a header, then a value): any bytes, or strings rich
/// in the quotes, escapes and surrogates that make a body hard to salvage.
fn shaped() -> impl Strategy<Value = Vec<u8>> {
    let header = (any::<u8>(), any::<u16>(), any::<u8>());
    let string = |pieces: BoxedStrategy<u8>| {
        proptest::collection::vec(pieces, 0..64).prop_map(|content| {
            let mut v = vec![0, content.len() as u8];
            v.extend(content);
            v
        })
    };
    prop_oneof![
        // Any bytes as the value.
        (header, proptest::collection::vec(any::<u8>(), 0..200))
            .prop_map(|((f, c, e), value)| case(f, c, e, value)),
        // A hostile string rich in quotes, escapes and surrogate makers (1, 2, 3)...
        (
            header,
            string(
                prop_oneof![
                    Just(1u8),
                    Just(2),
                    Just(3),
                    Just(b'"'),
                    Just(b'\\'),
                    0x20u8..0x7f
                ]
                .boxed()
            )
        )
            .prop_map(|((f, c, e), value)| case(f, c, e, value)),
        // ... or in invalid UTF-8.
        (
            header,
            string(
                prop_oneof![
                    Just(0xffu8),
                    Just(0xc3),
                    Just(0xed),
                    0x80u8..0xff,
                    any::<u8>()
                ]
                .boxed()
            )
        )
            .prop_map(|((f, c, e), value)| case(f, c, e, value)),
        // A number (2), an object (4) or an array (6) of further values.
        (
            header,
            prop_oneof![Just(2u8), Just(4), Just(6)],
            proptest::collection::vec(any::<u8>(), 0..80)
        )
            .prop_map(|((f, c, e), choice, rest)| {
                let mut value = vec![choice];
                value.extend(rest);
                case(f, c, e, value)
            }),
        // Nesting around the parser's limit on a line within the cap: too deep, or just not.
        (any::<u8>(), any::<u8>(), 1000u16..1800, 0u8..3, any::<u8>()).prop_map(
            |(f, e, depth, style, inner)| {
                let mut value = vec![3];
                value.extend(depth.to_le_bytes());
                value.extend([style, inner]);
                // Bare body, so the whole line fits the largest cap.
                case(f | 16, 4032, e, value)
            }
        ),
    ]
}

/// Pieces of JSON, of events and of hostile values, for the unshaped harness.
const PIECES: &[&[u8]] = &[
    b"{\"auditID\":\"a\",",
    b"\"verb\":",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"\\",
    b",",
    b":",
    b"1e400",
    b"\"\\ud800\"",
    b"\n",
    b" ",
    b"\xff",
    b"\"items\":[",
    b"\"records\":",
    b"\"kaudit.salvaged\":",
];

/// `cases` unless PROPTEST_CASES asks for another number (a longer search).
fn config(cases: u32) -> ProptestConfig {
    let default = ProptestConfig::default();
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        default.cases
    } else {
        cases
    };
    ProptestConfig { cases, ..default }
}

proptest! {
    // About 3 s in a debug build: lines of up to 8 MiB are read several times.
    #![proptest_config(config(256))]

    /// A shaped line: one request, its envelope as planted, the body kept or marked as
    /// promised, no planted Secret value, within the limits.
    #[test]
    fn a_request_is_never_hidden_by_its_own_body(data in shaped()) {
        salvage(&data);
    }
}

proptest! {
    // Under a second in a debug build.
    #![proptest_config(config(2048))]

    /// Any bytes: the scan finds the same however they are split, limits only measure
    /// instead of keeping, rebuilt events are strict JSON.
    #[test]
    fn any_bytes_scan_and_rebuild_the_same_however_split(
        data in proptest::collection::vec(any::<u8>(), 0..400),
        event in proptest::collection::vec(proptest::sample::select(PIECES), 0..40),
    ) {
        salvage_scan(&data);
        let mut shaped = data.get(..3).unwrap_or(&[0, 0, 0]).to_vec();
        shaped.extend(event.concat());
        salvage_scan(&shaped);
    }
}
