//! Fuzz target `xml_stream`: the same entry point `cargo test` replays the corpus through.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| herald_xml::fuzzing::stream_feed(data));
