use image::{Rgb, RgbImage, Rgba, RgbaImage};

use super::*;

const LIMIT: u64 = 50_000_000;

fn picture(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    }))
}

fn bytes(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

/// A JPEG with an EXIF segment holding only the Orientation tag, right after SOI.
fn with_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01".to_vec();
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let segment_len = u16::try_from(2 + 6 + tiff.len()).expect("small");
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&segment_len.to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn decoded(data: &[u8]) -> (u32, u32, ImageFormat) {
    let reader = ImageReader::new(Cursor::new(data)).with_guessed_format().expect("read");
    let format = reader.format().expect("a format");
    let image = reader.decode().expect("decodes");
    (image.width(), image.height(), format)
}

fn sizes(r: &Resized) -> Vec<(&str, u32, u32)> {
    r.renditions.iter().map(|x| (x.name, x.width, x.height)).collect()
}

#[test]
fn thumbnail_sizes_round_as_pillow_does() {
    assert_eq!(fit(1200, 1600, 128), Some((96, 128)));
    assert_eq!(fit(2048, 1024, 1024), Some((1024, 512)));
    assert_eq!(fit(300, 600, 128), Some((64, 128)));
    assert_eq!(fit(320, 200, 128), Some((128, 80)));
    // 1000 / 3 = 333.33: the nearer ratio wins.
    assert_eq!(fit(1000, 3, 128), Some((128, 1)));
    assert_eq!(fit(3, 1000, 128), Some((1, 128)));
    // 100 * 1023 / 1024 = 99.9: up is closer.
    assert_eq!(fit(1024, 1023, 100), Some((100, 100)));
    assert_eq!(fit(1000, 750, 100), Some((100, 75)));
    assert_eq!(fit(320, 200, 1024), None, "never enlarged");
    assert_eq!(fit(128, 128, 128), None);
}

#[test]
fn a_sideways_jpeg_comes_out_upright_in_both_sizes() {
    let jpeg = with_orientation(&bytes(&picture(1600, 1200), ImageFormat::Jpeg), 6);
    let r = resize(&jpeg, LIMIT).expect("resized");
    assert_eq!((r.format, r.width, r.height, r.orientation), ("JPEG", 1200, 1600, 6));
    assert_eq!(sizes(&r), vec![("thumb", 96, 128), ("large", 768, 1024)]);
    for rendition in &r.renditions {
        assert_eq!((rendition.extension, rendition.content_type), ("jpg", "image/jpeg"));
        assert_eq!(decoded(&rendition.data), (rendition.width, rendition.height, ImageFormat::Jpeg));
    }
}

#[test]
fn formats_are_kept_and_gifs_become_pngs() {
    let rgba = DynamicImage::ImageRgba8(RgbaImage::from_fn(2048, 1024, |x, _| {
        Rgba([0, 0, 0, if x < 1024 { 255 } else { 128 }])
    }));
    let r = resize(&bytes(&rgba, ImageFormat::Png), LIMIT).expect("png");
    assert_eq!((r.format, r.orientation), ("PNG", 1));
    assert_eq!(sizes(&r), vec![("thumb", 128, 64), ("large", 1024, 512)]);
    assert_eq!(decoded(&r.renditions[1].data), (1024, 512, ImageFormat::Png));

    let r = resize(&bytes(&picture(1200, 900), ImageFormat::WebP), LIMIT).expect("webp");
    assert_eq!(r.format, "WEBP");
    assert_eq!(r.renditions[0].content_type, "image/webp");
    assert_eq!(decoded(&r.renditions[0].data), (128, 96, ImageFormat::WebP));

    let gif = bytes(&DynamicImage::ImageRgba8(picture(320, 200).to_rgba8()), ImageFormat::Gif);
    let r = resize(&gif, LIMIT).expect("gif");
    assert_eq!((r.format, r.width, r.height), ("GIF", 320, 200));
    assert_eq!(sizes(&r), vec![("thumb", 128, 80), ("large", 320, 200)]);
    assert_eq!((r.renditions[1].extension, r.renditions[1].content_type), ("png", "image/png"));
    assert_eq!(decoded(&r.renditions[1].data), (320, 200, ImageFormat::Png));
}

#[test]
fn large_photos_are_reduced_before_the_lanczos_pass() {
    let r = resize(&bytes(&picture(4000, 3000), ImageFormat::Jpeg), LIMIT).expect("resized");
    assert_eq!(sizes(&r), vec![("thumb", 128, 96), ("large", 1024, 768)]);
}

#[test]
fn what_is_not_an_image_fails_with_pillows_words() {
    let failed = |reason: &str| Err(Refusal::Failed(reason.to_owned()));
    assert_eq!(resize(b"these are not pixels\n", LIMIT).map(|r| r.format), failed(UNIDENTIFIED));
    assert_eq!(resize(b"", LIMIT).map(|r| r.format), failed(UNIDENTIFIED));
    // PNG's signature, then nothing readable.
    assert_eq!(resize(b"\x89PNG\r\n\x1a\n garbage", LIMIT).map(|r| r.format), failed(UNIDENTIFIED));
    let bmp = b"BM\x3a\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0\x01\0\0\0\x01\0\0\0\x01\0\x18\0\0\0\0\0\x04\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
    assert_eq!(resize(bmp, LIMIT).map(|r| r.format), failed("ValueError: unsupported image format BMP"));
}

#[test]
fn truncated_images_fail_as_truncated() {
    let jpeg = with_orientation(&bytes(&picture(1600, 1200), ImageFormat::Jpeg), 6);
    assert!(jpeg_is_complete(&jpeg));
    let Err(Refusal::Failed(reason)) = resize(&jpeg[..jpeg.len() / 2], LIMIT) else {
        panic!("a half JPEG fails");
    };
    assert!(reason.contains("truncated"), "{reason}");
    // Cut inside the headers: no scan at all.
    assert!(!jpeg_is_complete(&jpeg[..40]));

    let png = bytes(&picture(600, 400), ImageFormat::Png);
    assert_eq!(
        resize(&png[..png.len() / 2], LIMIT).map(|r| r.format),
        Err(Refusal::Failed("image file is truncated (unexpected end of file)".into()))
    );
    let webp = bytes(&picture(600, 400), ImageFormat::WebP);
    assert!(matches!(resize(&webp[..webp.len() / 2], LIMIT), Err(Refusal::Failed(_))));
}

#[test]
fn too_many_pixels_are_rejected_before_decoding_with_pillows_message() {
    let png = bytes(&picture(100, 100), ImageFormat::Png);
    assert!(resize(&png, 10_000).is_ok(), "at the limit");
    assert_eq!(
        resize(&png, 9_999).map(|r| r.format),
        Err(Refusal::Rejected(
            "Image size (10000 pixels) exceeds limit of 9999 pixels, could be decompression bomb DOS attack."
                .into()
        ))
    );
    assert_eq!(
        resize(&png, 4_000).map(|r| r.format),
        Err(Refusal::Rejected(
            "Image size (10000 pixels) exceeds limit of 8000 pixels, could be decompression bomb DOS attack."
                .into()
        ))
    );
}
