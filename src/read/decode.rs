//! Turns input bytes into text: UTF-8 (with or without a byte order mark) and UTF-16 LE/BE
//! with a byte order mark, as kubectl accepts. Output is always UTF-8 without a BOM.

use crate::error::Error;

/// Decodes one input. `origin` names it in errors.
pub fn decode(origin: &str, bytes: Vec<u8>) -> Result<String, Error> {
    let bad = |offset: usize, message: &str| Error::Encoding {
        origin: origin.to_string(),
        offset,
        message: message.to_string(),
    };
    match bytes.as_slice() {
        [0xEF, 0xBB, 0xBF, ..] => {
            String::from_utf8(bytes[3..].to_vec()).map_err(|e| bad(3 + e.utf8_error().valid_up_to(), "invalid UTF-8"))
        }
        [0xFF, 0xFE, rest @ ..] => utf16(rest, u16::from_le_bytes).map_err(|at| bad(2 + at, "invalid UTF-16LE")),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, u16::from_be_bytes).map_err(|at| bad(2 + at, "invalid UTF-16BE")),
        _ => String::from_utf8(bytes).map_err(|e| bad(e.utf8_error().valid_up_to(), "invalid UTF-8")),
    }
}

/// Decodes UTF-16 code units; the error is the byte offset of the first bad unit.
fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, usize> {
    if !bytes.len().is_multiple_of(2) {
        return Err(bytes.len() - 1);
    }
    let units: Vec<u16> = bytes.chunks_exact(2).map(|p| unit([p[0], p[1]])).collect();
    let mut out = String::with_capacity(units.len());
    let mut at = 0;
    for c in char::decode_utf16(units.iter().copied()) {
        match c {
            Ok(c) => {
                at += 2 * c.len_utf16();
                out.push(c);
            }
            Err(_) => return Err(at),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boms_and_utf16() {
        assert_eq!(decode("x", b"\xEF\xBB\xBFa: 1\n".to_vec()).unwrap(), "a: 1\n");
        let le: Vec<u8> = [0xFF, 0xFE].into_iter().chain("a: é\n".encode_utf16().flat_map(u16::to_le_bytes)).collect();
        assert_eq!(decode("x", le).unwrap(), "a: é\n");
        let be: Vec<u8> = [0xFE, 0xFF].into_iter().chain("a: 1\n".encode_utf16().flat_map(u16::to_be_bytes)).collect();
        assert_eq!(decode("x", be).unwrap(), "a: 1\n");
    }

    #[test]
    fn invalid_utf8_names_the_byte_offset() {
        let err = decode("in.yaml", b"a: 1\nb: \xFF\n".to_vec()).unwrap_err();
        assert_eq!(err.to_string(), "in.yaml: invalid UTF-8 at byte offset 8");
    }
}
