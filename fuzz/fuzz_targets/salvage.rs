//! See kaudit::fuzzing::salvage: the body is shared with the regression tests.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kaudit::fuzzing::salvage(data);
});
