//! A QR code of a text (the invite link) as the outline of its dark modules, ready to become one
//! SVG `<path>`.
//!
//! The `qrcode` crate (no default features: no image or SVG renderer) computes the module matrix;
//! this module only turns it into path data, so the shell can build the `<svg>` as ordinary nodes
//! and never as an HTML string.
//!
//! Invariants:
//! - the error correction level is always M (about 15 % of the code may be damaged or hidden);
//! - coordinates are in modules; the matrix starts at (4, 4), after a 4-module quiet zone on
//!   every side, so the drawing is `size × size` modules with `size = width + 8`;
//! - the path covers exactly the dark modules: one rectangle per horizontal run of dark modules,
//!   each a closed `M x,y h n v1 h-n z` subpath. It is meant to be filled dark on a light square
//!   of `size × size` (the quiet zone must stay light too).

use qrcode::{Color, EcLevel, QrCode};

/// Light modules around the code on each side, as the QR specification requires.
pub const QUIET_ZONE: u32 = 4;

/// The dark modules of a QR code as SVG path data, with the drawing's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrPath {
    size: u32,
    path: String,
}

impl QrPath {
    /// Side of the square drawing in modules, quiet zone included.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Path data (`d`) of the dark modules, in module coordinates.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The SVG `viewBox` covering the whole drawing: `0 0 size size`.
    pub fn view_box(&self) -> String {
        format!("0 0 {0} {0}", self.size)
    }
}

/// Why a text has no QR code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    /// The text does not fit in the largest QR code at level M.
    #[error("a {bytes}-byte text is too long for a QR code")]
    TooLong {
        /// The text's length in UTF-8 bytes.
        bytes: usize,
    },
    /// The encoder refused the text for another reason.
    #[error("the text cannot be encoded as a QR code")]
    Encode(#[source] qrcode::types::QrError),
}

/// The QR code (level M) of `text`, as the outline of its dark modules.
pub fn qr_path(text: &str) -> Result<QrPath, QrError> {
    let code = QrCode::with_error_correction_level(text, EcLevel::M).map_err(|e| match e {
        qrcode::types::QrError::DataTooLong => QrError::TooLong { bytes: text.len() },
        other => QrError::Encode(other),
    })?;
    let width = code.width();
    let colors = code.to_colors();
    let mut path = String::new();
    for (y, row) in colors.chunks(width).enumerate() {
        let mut x = 0;
        while x < row.len() {
            if row[x] != Color::Dark {
                x += 1;
                continue;
            }
            let start = x;
            while x < row.len() && row[x] == Color::Dark {
                x += 1;
            }
            let run = x - start;
            let (left, top) = (start + QUIET_ZONE as usize, y + QUIET_ZONE as usize);
            path.push_str(&format!("M{left},{top}h{run}v1h-{run}z"));
        }
    }
    // A version-40 code is 177 modules wide, so this never saturates.
    let size = u32::try_from(width).unwrap_or(u32::MAX) + 2 * QUIET_ZONE;
    Ok(QrPath { size, path })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The dark modules a path draws, as a `size × size` matrix (row-major, `true` = dark).
    /// Accepts exactly the subpaths [`qr_path`] writes.
    fn rasterize(qr: &QrPath) -> Vec<bool> {
        let size = qr.size() as usize;
        let mut dark = vec![false; size * size];
        for subpath in qr.path().split_terminator('z') {
            let rest = subpath.strip_prefix('M').unwrap();
            let (xy, rest) = rest.split_once('h').unwrap();
            let (x, y) = xy.split_once(',').unwrap();
            let (run, rest) = rest.split_once("v1h-").unwrap();
            assert_eq!(run, rest, "each subpath closes its own rectangle");
            let (x, y, run): (usize, usize, usize) =
                (x.parse().unwrap(), y.parse().unwrap(), run.parse().unwrap());
            assert!(run > 0);
            for cell in &mut dark[y * size + x..y * size + x + run] {
                assert!(!*cell, "rectangles do not overlap");
                *cell = true;
            }
        }
        dark
    }

    /// Reads the drawing back with an independent decoder, at `scale` pixels per module.
    fn decode(qr: &QrPath, scale: usize) -> String {
        let size = qr.size() as usize;
        let dark = rasterize(qr);
        let side = size * scale;
        let mut image = rqrr::PreparedImage::prepare_from_bitmap(side, side, |x, y| {
            dark[(y / scale) * size + x / scale]
        });
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1, "exactly one code in the drawing");
        let (meta, text) = grids[0].decode().unwrap();
        // rqrr numbers the levels by their format bits: M is 0.
        assert_eq!(meta.ecc_level, 0, "error correction level M");
        text
    }

    const LINK: &str = "http://127.0.0.1:8321/p/7Ld3bF1qYvWmJr9ZKc2xPpQh8NsT5uEaGw6VtRyMoXn/\
        0f5c1a2e-8b7d-4c3a-9e6f-1d2b3c4d5e6f?peerjs=ws%3A%2F%2F127.0.0.1%3A9321%2F";

    #[test]
    fn an_invite_link_reads_back_exactly() {
        let qr = qr_path(LINK).unwrap();
        assert_eq!(decode(&qr, 3), LINK);
    }

    #[test]
    fn the_path_draws_exactly_the_dark_modules_inside_a_light_quiet_zone() {
        let qr = qr_path(LINK).unwrap();
        let code = QrCode::with_error_correction_level(LINK, EcLevel::M).unwrap();
        let width = code.width();
        assert_eq!(qr.size() as usize, width + 8);
        assert_eq!(qr.view_box(), format!("0 0 {0} {0}", width + 8));
        let dark = rasterize(&qr);
        let size = qr.size() as usize;
        for y in 0..size {
            for x in 0..size {
                let inside = (4..4 + width).contains(&x) && (4..4 + width).contains(&y);
                let expected = inside && code[(x - 4, y - 4)] == Color::Dark;
                assert_eq!(dark[y * size + x], expected, "module ({x}, {y})");
            }
        }
    }

    #[test]
    fn the_finder_pattern_starts_after_the_quiet_zone() {
        let qr = qr_path("x").unwrap();
        // Version 1 is 21 modules wide; its top-left finder's first row is 7 dark modules.
        assert_eq!(qr.size(), 29);
        assert!(qr.path().starts_with("M4,4h7v1h-7z"), "{}", qr.path());
    }

    #[test]
    fn a_text_longer_than_the_largest_code_is_refused() {
        // Version 40 at level M holds 2331 bytes.
        assert!(qr_path(&"a".repeat(2331)).is_ok());
        let long = "\u{e9}".repeat(1200);
        assert_eq!(qr_path(&long), Err(QrError::TooLong { bytes: 2400 }));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn any_link_reads_back(path in "[A-Za-z0-9/_.%?=&-]{0,300}") {
            let link = format!("https://polls.example/p/{path}");
            let qr = qr_path(&link).unwrap();
            prop_assert_eq!(decode(&qr, 2), link);
        }
    }
}
