//! See kaudit::fuzzing::line_reader: the body is shared with the regression tests.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kaudit::fuzzing::line_reader(data);
});
