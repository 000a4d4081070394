//! QR codes as inline SVG, drawn by Tessera itself (no image service sees the TOTP secret):
//! one path of unit squares, with the four-module quiet zone the standard asks for.

use qrcodegen::{QrCode, QrCodeEcc};

/// Modules of quiet zone around the code.
const BORDER: i32 = 4;

/// An SVG image of `text` as a QR code (medium error correction), or `None` when the text is
/// too long for any QR version.
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let size = code.size();
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if code.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + BORDER, y + BORDER));
            }
        }
    }
    let full = size + 2 * BORDER;
    Some(format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {full} {full}" width="240" height="240" role="img" aria-label="QR code for your authenticator app" shape-rendering="crispEdges"><rect width="100%" height="100%" fill="#fff"/><path d="{path}" fill="#000"/></svg>"##
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn draws_a_square_image_with_a_quiet_zone() {
        let svg = super::svg("otpauth://totp/Tessera:alice?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(
            svg.contains("viewBox=\"0 0 41 41\""),
            "version 4 plus the border: {svg}"
        );
        assert!(svg.contains("M4,4h1v1h-1z"), "the finder pattern's corner");
    }
}
