//! Content-MD5 and the flexible checksums (CRC32, CRC32C, CRC64NVME, SHA1, SHA256): which one a
//! request asks for (a header value, a trailer named in `x-amz-trailer`, or just the algorithm),
//! and whether what was received matches. Pure.

use base64::Engine as _;
use s3s::checksum::ChecksumHasher;
use s3s::crypto::{Checksum as _, Crc32, Crc32c, Crc64Nvme, Sha1, Sha256};
use s3s::dto::Checksum;

use crate::error::{Error, Result};
use crate::model::StoredChecksum;

pub const ALGORITHMS: &[&str] = &["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"];

/// What a request said about its body's checksum.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// The algorithm, upper case.
    pub algorithm: Option<String>,
    /// The value the client sent in a header, if it did (a trailer comes later).
    pub value: Option<String>,
}

impl Wanted {
    /// From the request's header values (`x-amz-checksum-*` as s3s parsed them, in the order of
    /// [`ALGORITHMS`]), the `x-amz-trailer` header and `x-amz-sdk-checksum-algorithm`.
    pub fn new(headers: [Option<&str>; 5], trailer: Option<&str>, algorithm: Option<&str>) -> Wanted {
        if let Some((i, v)) = headers.iter().enumerate().find_map(|(i, v)| v.map(|v| (i, v))) {
            return Wanted { algorithm: Some(ALGORITHMS[i].to_owned()), value: Some(v.to_owned()) };
        }
        let from_trailer = trailer.and_then(|t| {
            t.trim().to_ascii_lowercase().strip_prefix("x-amz-checksum-").map(str::to_ascii_uppercase)
        });
        let algorithm = from_trailer.or_else(|| algorithm.map(str::to_ascii_uppercase));
        Wanted { algorithm, value: None }
    }

    pub fn hasher(&self) -> Result<ChecksumHasher> {
        hasher(self.algorithm.as_deref())
    }

    /// The trailer that carries the value, if the value comes in one.
    pub fn trailer_name(&self) -> Option<String> {
        match (&self.algorithm, &self.value) {
            (Some(a), None) => Some(format!("x-amz-checksum-{}", a.to_ascii_lowercase())),
            _ => None,
        }
    }

    /// Checks the computed checksums against the value sent (in a header or, `trailer`, after
    /// the body), and returns what is stored with the object.
    pub fn verify(&self, computed: &Checksum, trailer: Option<String>) -> Result<Option<StoredChecksum>> {
        let Some(algorithm) = &self.algorithm else { return Ok(None) };
        let actual = value_of(computed, algorithm).ok_or_else(|| {
            Error::InvalidRequest(format!("Checksum algorithm {algorithm} is not supported"))
        })?;
        if let Some(expected) = self.value.clone().or(trailer)
            && expected != actual
        {
            return Err(Error::BadDigest(format!(
                "The {algorithm} you specified did not match the calculated checksum."
            )));
        }
        Ok(Some(StoredChecksum { algorithm: algorithm.clone(), value: actual, composite: false }))
    }
}

pub fn hasher(algorithm: Option<&str>) -> Result<ChecksumHasher> {
    let mut h = ChecksumHasher::default();
    match algorithm {
        None => {}
        Some("CRC32") => h.crc32 = Some(Crc32::new()),
        Some("CRC32C") => h.crc32c = Some(Crc32c::new()),
        Some("CRC64NVME") => h.crc64nvme = Some(Crc64Nvme::new()),
        Some("SHA1") => h.sha1 = Some(Sha1::new()),
        Some("SHA256") => h.sha256 = Some(Sha256::new()),
        Some(other) => {
            return Err(Error::InvalidRequest(format!(
                "Value for x-amz-checksum-algorithm header is invalid: {other}"
            )));
        }
    }
    Ok(h)
}

fn value_of(c: &Checksum, algorithm: &str) -> Option<String> {
    match algorithm {
        "CRC32" => c.checksum_crc32.clone(),
        "CRC32C" => c.checksum_crc32c.clone(),
        "CRC64NVME" => c.checksum_crc64nvme.clone(),
        "SHA1" => c.checksum_sha1.clone(),
        "SHA256" => c.checksum_sha256.clone(),
        _ => None,
    }
}

/// A stored checksum as the s3s output fields (`checksum_crc32`, ...), with its type.
pub fn to_dto(stored: Option<&StoredChecksum>) -> Checksum {
    let mut c = Checksum::default();
    let Some(s) = stored else { return c };
    let v = Some(s.value.clone());
    match s.algorithm.as_str() {
        "CRC32" => c.checksum_crc32 = v,
        "CRC32C" => c.checksum_crc32c = v,
        "CRC64NVME" => c.checksum_crc64nvme = v,
        "SHA1" => c.checksum_sha1 = v,
        "SHA256" => c.checksum_sha256 = v,
        _ => return c,
    }
    c.checksum_type =
        Some(s3s::dto::ChecksumType::from(if s.composite { "COMPOSITE" } else { "FULL_OBJECT" }.to_owned()));
    c
}

/// Checks a `Content-MD5` header (base64 of the 16-byte digest) against the received digest.
pub fn check_md5(header: Option<&str>, md5: &[u8; 16]) -> Result<()> {
    let Some(header) = header else { return Ok(()) };
    let expected =
        base64::engine::general_purpose::STANDARD.decode(header.trim()).map_err(|_| Error::InvalidDigest)?;
    if expected.len() != 16 {
        return Err(Error::InvalidDigest);
    }
    if expected != md5 {
        return Err(Error::BadDigest("The Content-MD5 you specified did not match what we received.".into()));
    }
    Ok(())
}

/// The checksum of a multipart object composed from its parts' checksums: the checksum of the
/// concatenated raw part checksums, `-N`. `None` when a part lacks one.
pub fn composite(algorithm: &str, parts: &[Option<&StoredChecksum>]) -> Option<StoredChecksum> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut h = hasher(Some(algorithm)).ok()?;
    for p in parts {
        let p = p.filter(|p| p.algorithm == algorithm)?;
        h.update(&b64.decode(&p.value).ok()?);
    }
    let value = value_of(&h.finalize(), algorithm)?;
    Some(StoredChecksum {
        algorithm: algorithm.to_owned(),
        value: format!("{value}-{}", parts.len()),
        composite: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crc32_of(data: &[u8]) -> String {
        let w = Wanted { algorithm: Some("CRC32".into()), value: None };
        let mut h = w.hasher().expect("hasher");
        h.update(data);
        w.verify(&h.finalize(), None).expect("verify").expect("stored").value
    }

    #[test]
    fn header_value_wins_then_trailer_then_algorithm() {
        let w = Wanted::new([None, None, None, Some("abc="), None], Some("x-amz-checksum-crc32"), None);
        assert_eq!(w, Wanted { algorithm: Some("SHA1".into()), value: Some("abc=".into()) });
        let w = Wanted::new([None; 5], Some("x-amz-checksum-crc32c"), Some("CRC32"));
        assert_eq!(w.algorithm.as_deref(), Some("CRC32C"));
        assert_eq!(w.trailer_name().as_deref(), Some("x-amz-checksum-crc32c"));
        assert_eq!(Wanted::new([None; 5], None, Some("sha256")).algorithm.as_deref(), Some("SHA256"));
    }

    #[test]
    fn crc32_of_known_input_and_mismatch() {
        // CRC32 (ISO-HDLC) of "hello world" is 0x0d4a1185.
        assert_eq!(crc32_of(b"hello world"), "DUoRhQ==");
        let w = Wanted { algorithm: Some("CRC32".into()), value: None };
        let mut h = w.hasher().expect("hasher");
        h.update(b"hello world");
        let err = w.verify(&h.finalize(), Some("AAAAAA==".into())).err();
        assert!(
            matches!(err, Some(Error::BadDigest(m)) if m == "The CRC32 you specified did not match the calculated checksum.")
        );
    }

    #[test]
    fn content_md5() {
        let md5: [u8; 16] = s3s::crypto::Md5::checksum(b"hello");
        assert!(check_md5(Some("XUFAKrxLKna5cZ2REBfFkg=="), &md5).is_ok());
        assert!(matches!(check_md5(Some("not base64!"), &md5), Err(Error::InvalidDigest)));
        assert!(matches!(check_md5(Some("AAAAAAAAAAAAAAAAAAAAAA=="), &md5), Err(Error::BadDigest(_))));
    }
}
