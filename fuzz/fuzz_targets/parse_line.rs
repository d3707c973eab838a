//! See kaudit::fuzzing::parse_line: the body is shared with the regression tests.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kaudit::fuzzing::parse_line(data);
});
