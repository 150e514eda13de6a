//! The in-memory engine against the conformance suite.

use super::{MemoryBlobs, MemoryKv};

mod kv {
    use super::*;
    crate::kv_conformance!(MemoryKv::new());
}

mod blobs {
    use super::*;
    crate::blob_conformance!(MemoryBlobs::new());
}
