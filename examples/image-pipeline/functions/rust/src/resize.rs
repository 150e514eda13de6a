//! The image work, without IO: identify an upload, apply the pixel limit, decode, turn it
//! upright and encode its renditions — the same decisions `resize.py` makes with Pillow, so both
//! variants record the same dimensions, formats and reasons.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

/// Longest side of each rendition, in pixels. Smaller originals are not enlarged.
pub const RENDITIONS: [(&str, u32); 2] = [("thumb", 128), ("large", 1024)];

/// The reason recorded for anything that is not a readable image; Pillow's words, then ours.
pub const UNIDENTIFIED: &str = "cannot identify image file: not a JPEG, PNG, WebP or GIF image";

/// Pillow's words for an image whose data ends early.
const TRUNCATED: &str = "image file is truncated";

/// Why an upload produced no renditions. Neither is an error of the pipeline: the upload is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The upload breaks a policy (size, pixel count): status `rejected`.
    Rejected(String),
    /// The upload is not a readable image: status `failed`.
    Failed(String),
}

/// An upload turned into renditions.
#[derive(Debug)]
pub struct Resized {
    /// Pillow's name of the input format: `JPEG`, `PNG`, `WEBP` or `GIF`.
    pub format: &'static str,
    /// Dimensions as the image is meant to be seen (EXIF orientation applied).
    pub width: u32,
    pub height: u32,
    /// The EXIF orientation found, 1 when there is none.
    pub orientation: u8,
    pub renditions: Vec<Rendition>,
}

#[derive(Debug)]
pub struct Rendition {
    /// `thumb` or `large`.
    pub name: &'static str,
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
    pub extension: &'static str,
    pub content_type: &'static str,
}

/// What each input format is written as. GIFs become PNGs of their first frame: a resized
/// animation is a different product.
struct Output {
    name: &'static str,
    format: ImageFormat,
    extension: &'static str,
    content_type: &'static str,
}

fn output_of(input: ImageFormat) -> Option<Output> {
    let (name, format, extension, content_type) = match input {
        ImageFormat::Jpeg => ("JPEG", ImageFormat::Jpeg, "jpg", "image/jpeg"),
        ImageFormat::Png => ("PNG", ImageFormat::Png, "png", "image/png"),
        ImageFormat::WebP => ("WEBP", ImageFormat::WebP, "webp", "image/webp"),
        ImageFormat::Gif => ("GIF", ImageFormat::Png, "png", "image/png"),
        _ => return None,
    };
    Some(Output { name, format, extension, content_type })
}

/// Pillow's name for the formats it opens but the pipeline does not take (it writes them in
/// its `unsupported image format` reason); the others are files Pillow cannot identify at all.
fn pillow_name(format: ImageFormat) -> Option<&'static str> {
    Some(match format {
        ImageFormat::Bmp => "BMP",
        ImageFormat::Tiff => "TIFF",
        ImageFormat::Ico => "ICO",
        ImageFormat::Pnm => "PPM",
        ImageFormat::Tga => "TGA",
        ImageFormat::Dds => "DDS",
        ImageFormat::Qoi => "QOI",
        ImageFormat::Avif => "AVIF",
        _ => return None,
    })
}

/// Identifies, checks and resizes one upload.
pub fn resize(body: &[u8], max_pixels: u64) -> Result<Resized, Refusal> {
    let unidentified = || Refusal::Failed(UNIDENTIFIED.to_owned());
    let reader = ImageReader::new(Cursor::new(body)).with_guessed_format().map_err(|_| unidentified())?;
    let input = reader.format().ok_or_else(unidentified)?;
    let Some(output) = output_of(input) else {
        return Err(match pillow_name(input) {
            Some(name) => Refusal::Failed(format!("ValueError: unsupported image format {name}")),
            None => unidentified(),
        });
    };
    let mut reader = reader;
    // The pixel limit below is the guard; the decoder's own allocation cap would refuse large
    // images the limit allows.
    reader.no_limits();
    // A header the decoder cannot read is a file Pillow's `open` would not identify either.
    let mut decoder = reader.into_decoder().map_err(|_| unidentified())?;
    let (stored_w, stored_h) = decoder.dimensions();
    check_pixels(u64::from(stored_w) * u64::from(stored_h), max_pixels)?;
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    if input == ImageFormat::Jpeg && !jpeg_is_complete(body) {
        return Err(Refusal::Failed(format!("{TRUNCATED} (no end-of-image marker after the scan)")));
    }
    let mut upright = DynamicImage::from_decoder(decoder).map_err(decoding_failed)?;
    upright.apply_orientation(orientation);
    let mut renditions = Vec::with_capacity(RENDITIONS.len());
    for (name, longest) in RENDITIONS {
        let copy = match fit(upright.width(), upright.height(), longest) {
            Some((w, h)) => shrink(&upright, w, h),
            None => upright.clone(),
        };
        let data = encode(&copy, output.format).map_err(|e| Refusal::Failed(e.to_string()))?;
        renditions.push(Rendition {
            name,
            width: copy.width(),
            height: copy.height(),
            data,
            extension: output.extension,
            content_type: output.content_type,
        });
    }
    Ok(Resized {
        format: output.name,
        width: upright.width(),
        height: upright.height(),
        orientation: orientation.to_exif(),
        renditions,
    })
}

/// The decoder's reason, in Pillow's words when the data ran out.
fn decoding_failed(e: image::ImageError) -> Refusal {
    match e {
        image::ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Refusal::Failed(format!("{TRUNCATED} ({io})"))
        }
        other => Refusal::Failed(other.to_string()),
    }
}

/// Pillow's decompression-bomb check, with its message: over the limit it warns (an error in
/// `resize.py`), over twice the limit it refuses, and each names the limit it broke.
fn check_pixels(pixels: u64, max_pixels: u64) -> Result<(), Refusal> {
    let limit = if pixels > max_pixels.saturating_mul(2) {
        max_pixels.saturating_mul(2)
    } else if pixels > max_pixels {
        max_pixels
    } else {
        return Ok(());
    };
    Err(Refusal::Rejected(format!(
        "Image size ({pixels} pixels) exceeds limit of {limit} pixels, could be decompression bomb DOS attack."
    )))
}

/// The image crate's JPEG decoder fills missing data with grey instead of failing, where
/// Pillow reports the file as truncated. A complete JPEG has an end-of-image marker after its
/// first scan: inside scan data a 0xFF byte is always stuffed or a marker, so the first
/// `FF D9` found there is the real one (an EXIF thumbnail's comes before the scan).
fn jpeg_is_complete(jpeg: &[u8]) -> bool {
    let mut at = 2;
    while at + 4 <= jpeg.len() {
        if jpeg[at] != 0xFF {
            // Not where a marker should be: a malformed file the decoder judges.
            return true;
        }
        match jpeg[at + 1] {
            0xFF => at += 1,
            0xDA => return jpeg[at..].windows(2).any(|w| w == [0xFF, 0xD9]),
            0x01 | 0xD0..=0xD7 => at += 2,
            _ => at += 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]])),
        }
    }
    false
}

/// The size `Image.thumbnail((longest, longest))` gives: aspect ratio kept, the side rounded
/// whichever way keeps the ratio closer (down on a tie), at least 1 px; `None` when the image
/// already fits, since thumbnails never enlarge.
pub fn fit(width: u32, height: u32, longest: u32) -> Option<(u32, u32)> {
    if longest >= width && longest >= height {
        return None;
    }
    let aspect = f64::from(width) / f64::from(height);
    let side = f64::from(longest);
    let round = |number: f64, distance: &dyn Fn(f64) -> f64| {
        let (down, up) = (number.floor(), number.ceil());
        let pick = if distance(up) < distance(down) { up } else { down };
        // In range: at most `longest`, at least 1.
        pick.max(1.0) as u32
    };
    Some(if 1.0 >= aspect {
        (round(side * aspect, &|n| (aspect - n / side).abs()), longest)
    } else {
        (longest, round(side / aspect, &|n| if n == 0.0 { 0.0 } else { (aspect - side / n).abs() }))
    })
}

/// Pillow's resize with its default reducing gap of 2: an integer box reduction first while the
/// image is more than twice the target, then Lanczos for the rest. Much faster than Lanczos
/// over a whole camera photo, and as sharp.
fn shrink(image: &DynamicImage, width: u32, height: u32) -> DynamicImage {
    let factor_x = (image.width() / width / 2).max(1);
    let factor_y = (image.height() / height / 2).max(1);
    let reduced;
    let source = if factor_x > 1 || factor_y > 1 {
        reduced = image.thumbnail_exact(image.width().div_ceil(factor_x), image.height().div_ceil(factor_y));
        &reduced
    } else {
        image
    };
    source.resize_exact(width, height, FilterType::Lanczos3)
}

fn encode(image: &DynamicImage, format: ImageFormat) -> image::ImageResult<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    match format {
        ImageFormat::Jpeg => {
            let encoder = JpegEncoder::new_with_quality(&mut out, 85);
            match image {
                DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => {
                    image.write_with_encoder(encoder)?
                }
                other => DynamicImage::ImageRgb8(other.to_rgb8()).write_with_encoder(encoder)?,
            }
        }
        other => image.write_to(&mut out, other)?,
    }
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests;
