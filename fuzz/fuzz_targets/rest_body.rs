//! Fuzz target `rest_body`: the same entry point `cargo test` replays the corpus through.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| herald_cc::fuzzing::rest_body(data));
