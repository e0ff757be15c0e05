#![no_main]
libfuzzer_sys::fuzz_target!(init: keysweep_fuzz::targets::init(), |data: &[u8]| {
    keysweep_fuzz::targets::archive_zstd(data)
});
