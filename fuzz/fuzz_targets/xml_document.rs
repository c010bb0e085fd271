//! Fuzz target `xml_document`: the same entry point `cargo test` replays the corpus through.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| herald_xml::fuzzing::document(data));
