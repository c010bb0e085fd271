//! Fuzz target `http_head`: the HTTP fast path's request-head reader, through the same entry
//! point `cargo test` replays the corpus with.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| herald_net::http::fuzz_head(data));
