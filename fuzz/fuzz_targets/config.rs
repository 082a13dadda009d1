//! The repository configuration parser on any text: an answer or a located error, no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = codex_review::repo_config::parse(text) {
        assert!(e.line >= 1 && e.column >= 1);
        let _ = e.to_string();
    }
    let _ = codex_review::repo_config::review_guidelines(text);
});
