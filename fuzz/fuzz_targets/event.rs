#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stackset_doctor_fuzz::event(data));
