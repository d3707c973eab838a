//! See kaudit::fuzzing::salvage_scan: the body is shared with the regression tests.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kaudit::fuzzing::salvage_scan(data);
});
