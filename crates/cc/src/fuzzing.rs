//! Entry points shared by the cargo-fuzz target `rest_body` in `fuzz/` and the corpus replay
//! in `cargo test`, so that the code the fuzzer exercises is exactly the code the tests replay.

use crate::parse::{client_log, dialog_request, user_request};

/// Feeds `data` to every REST body parser and checks what must hold for any input: no panic,
/// a refusal is always a 400, and an accepted log holds only XML 1.0 characters.
pub fn rest_body(data: &[u8]) {
    for refusal in [user_request(data).err(), dialog_request(data).err()].into_iter().flatten() {
        assert_eq!(refusal.status, 400, "{refusal:?}");
    }
    match client_log(data) {
        Ok(text) => assert!(text.chars().all(herald_xml::is_xml_char), "log text with a character outside XML"),
        Err(refusal) => assert_eq!(refusal.status, 400, "{refusal:?}"),
    }
}
