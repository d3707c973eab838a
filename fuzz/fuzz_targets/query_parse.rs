//! See kaudit::fuzzing::query_parse: the body is shared with the regression tests.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kaudit::fuzzing::query_parse(data);
});
