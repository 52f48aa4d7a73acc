//! Bytes to text: tolerate what real users save (a UTF-8 byte-order mark, UTF-16 from PowerShell's `>`).

use crate::error::{Error, Location};

/// Decode a file's bytes to text. UTF-8 (with or without BOM) and UTF-16 LE/BE (with BOM, or detected by
/// the zero bytes of ASCII text) are accepted; anything else is an [`Error::Encoding`] naming the position.
pub fn decode(file: &str, bytes: &[u8]) -> Result<String, Error> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8(file, rest);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(file, rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(file, rest, u16::from_be_bytes);
    }
    // UTF-16 without a BOM: JSON starts with ASCII, so one of the first two bytes is zero.
    if bytes.len() >= 4 && bytes.len().is_multiple_of(2) {
        if bytes[0] != 0 && bytes[1] == 0 && bytes[3] == 0 {
            return utf16(file, bytes, u16::from_le_bytes);
        }
        if bytes[0] == 0 && bytes[1] != 0 && bytes[2] == 0 {
            return utf16(file, bytes, u16::from_be_bytes);
        }
    }
    utf8(file, bytes)
}

fn utf8(file: &str, bytes: &[u8]) -> Result<String, Error> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(e) => Err(Error::Encoding {
            location: Location::at(file, bytes, e.valid_up_to()),
            reason: format!(
                "invalid UTF-8 at byte {} (expected UTF-8 or UTF-16 JSON text)",
                e.valid_up_to()
            ),
        }),
    }
}

fn utf16(file: &str, bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, Error> {
    if !bytes.len().is_multiple_of(2) {
        return Err(Error::Encoding {
            location: Location::file(file),
            reason: "UTF-16 text with an odd number of bytes".into(),
        });
    }
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]])).collect();
    String::from_utf16(&units).map_err(|_| Error::Encoding {
        location: Location::file(file),
        reason: "invalid UTF-16 (unpaired surrogate)".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_bom_is_stripped() {
        assert_eq!(decode("f", b"\xEF\xBB\xBF{}").unwrap(), "{}");
    }

    #[test]
    fn utf16_le_with_and_without_bom() {
        let le: Vec<u8> = "{\"a\":1}"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        assert_eq!(decode("f", &le).unwrap(), "{\"a\":1}");
        let mut bom = vec![0xFF, 0xFE];
        bom.extend(&le);
        assert_eq!(decode("f", &bom).unwrap(), "{\"a\":1}");
    }

    #[test]
    fn utf16_be_with_bom() {
        let mut be = vec![0xFE, 0xFF];
        be.extend("{}".encode_utf16().flat_map(|u| u.to_be_bytes()));
        assert_eq!(decode("f", &be).unwrap(), "{}");
    }

    #[test]
    fn garbage_names_the_position() {
        let err = decode("g.bin", b"{\n  \"a\": \xFF\xFE\x00")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("g.bin:2:8: not text"), "{err}");
    }
}
