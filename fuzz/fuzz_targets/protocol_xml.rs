//! rest-xml bodies: the well-formedness check services run before reading XML never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = protocol::xml::check_well_formed(data);
});
