#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| keysweep_fuzz::targets::archive_tar(data));
