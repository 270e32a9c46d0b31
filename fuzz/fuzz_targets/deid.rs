//! Fuzz target `deid`: see `checks::deid` for the input layout and the
//! property checked.

#![no_main]

#[path = "../checks.rs"]
#[allow(dead_code)]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::deid(data));
