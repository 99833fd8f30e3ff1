//! Text a record keeps for later, packed when it is long.
//!
//! What a run keeps until it is over is mostly text: the objects temper generated and the
//! documents the rules changed (as compact JSON, [`super::Json`]), and the hunks of a diff
//! (YAML). Most of it is what hardening adds, the same keys and values in every workload, so a
//! long text is packed with LZ4 against a dictionary of what temper writes into a release
//! (`packed-dictionary-hunks.txt` and `packed-dictionary.json`, made by `scripts/packed-dictionary.py`): it then takes a third to
//! a fifth of its length. Unpacking runs at several times the speed of parsing what comes out.
//!
//! **Invariant:** [`Packed::text`] gives back exactly the text [`Packed::new`] was given,
//! whatever the dictionary holds; the dictionary decides only how small the packed text is.

use std::borrow::Cow;
use std::fmt;
use std::sync::LazyLock;

/// A text kept as it is up to [`PACK_ABOVE`] bytes, packed above.
#[derive(Clone, PartialEq, Eq)]
pub struct Packed(Box<[u8]>);

/// Texts up to this length are kept as they are: packing saves little on them, and most
/// values a change sets are this short.
const PACK_ABOVE: usize = 128;

/// The first byte of a packed text, which no text kept as it is starts with (a JSON text never
/// does, and [`Packed::new`] packs any other that does); the text's length (4 bytes, little
/// endian) and its LZ4 block follow.
const PACKED: u8 = 0;

/// What texts are packed against: the objects temper wrote for a small release in `prod`, as a
/// diff's hunks add them (YAML lines after a `+`), then as compact JSON. LZ4 reads it as if it
/// came just before each text. The JSON comes last, nearest the text, as it did before the
/// hunks' part was added: a record packs as it did.
static DICTIONARY: LazyLock<Vec<u8>> = LazyLock::new(|| {
    [&include_bytes!("packed-dictionary-hunks.txt")[..], include_bytes!("packed-dictionary.json")].concat()
});

impl Packed {
    pub fn new(text: String) -> Packed {
        Packed(pack(text.as_bytes()).unwrap_or_else(|| text.into_bytes().into_boxed_slice()))
    }

    /// `text` as it is, not packed (unless it starts as a packed text does, so that it is never
    /// misread): for a text kept only to be read again at once.
    pub fn unpacked(text: String) -> Packed {
        match text.as_bytes().first() {
            Some(&PACKED) => Packed::new(text),
            _ => Packed(text.into_bytes().into_boxed_slice()),
        }
    }

    /// The text, unpacked if it was packed.
    pub fn text(&self) -> Result<Cow<'_, str>, Unreadable> {
        match self.0.split_first() {
            Some((&PACKED, packed)) => {
                let bytes = lz4_flex::block::decompress_size_prepended_with_dict(packed, &DICTIONARY)
                    .map_err(|_| Unreadable)?;
                String::from_utf8(bytes).map(Cow::Owned).map_err(|_| Unreadable)
            }
            _ => std::str::from_utf8(&self.0).map(Cow::Borrowed).map_err(|_| Unreadable),
        }
    }

    /// [`Packed::new`] for borrowed text, copied only if it is kept as it is.
    pub fn of(text: &str) -> Packed {
        Packed(pack(text.as_bytes()).unwrap_or_else(|| text.as_bytes().into()))
    }

    /// Unpacks its text into `out`, which is as long as the text ([`Packed::text_len`]): for
    /// pieces of one long text, unpacked side by side into the room it takes, never held twice.
    pub fn unpack_into(&self, out: &mut [u8]) -> Result<(), Unreadable> {
        match self.0.split_first() {
            Some((&PACKED, packed)) => {
                let block = packed.get(4..).ok_or(Unreadable)?;
                let written =
                    lz4_flex::block::decompress_into_with_dict(block, out, &DICTIONARY).map_err(|_| Unreadable)?;
                if written == out.len() { Ok(()) } else { Err(Unreadable) }
            }
            _ if self.0.len() == out.len() => {
                out.copy_from_slice(&self.0);
                Ok(())
            }
            _ => Err(Unreadable),
        }
    }

    /// The length of its text, without unpacking it.
    pub fn text_len(&self) -> usize {
        match self.0.split_first() {
            Some((&PACKED, rest)) if rest.len() >= 4 => {
                u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize
            }
            _ => self.0.len(),
        }
    }

    /// Whether it is held packed.
    #[cfg(test)]
    pub(super) fn is_packed(&self) -> bool {
        self.0.first() == Some(&PACKED)
    }

    /// The bytes it takes.
    #[cfg(test)]
    pub(super) fn held(&self) -> usize {
        self.0.len()
    }
}

/// Long text is packed a piece of this many bytes (or a little more) at a time: large enough
/// to pack well (LZ4 finds what a text repeats of the text before it), small beside the text
/// of a stream worth packing.
pub const PIECE: usize = 1 << 20;

/// Texts appended one after another and packed up to [`PIECES_OF`] bytes at a time: for what is
/// kept to be written out in order, such as the resources of a diff.
#[derive(Default)]
pub struct PackedPieces {
    text: String,
    packed: Vec<Packed>,
}

/// The size of a piece of [`PackedPieces`]: four of LZ4's 64 KiB windows, so a piece packs
/// nearly as well as a longer one (LZ4 finds nothing further back), while the piece being
/// filled and the room it is packed into stay small beside what is kept.
const PIECES_OF: usize = 256 * 1024;

impl PackedPieces {
    pub fn push_str(&mut self, text: &str) {
        // The piece is packed before it would outgrow its room, which is made once for it:
        // grown by doubling, it would take twice its length.
        if !self.text.is_empty() && self.text.len() + text.len() > PIECES_OF {
            self.packed.push(Packed::new(std::mem::take(&mut self.text)));
        }
        if self.text.is_empty() {
            self.text.reserve_exact(PIECES_OF.max(text.len()));
        }
        self.text.push_str(text);
    }

    /// The pieces, in order; their texts joined are the texts pushed.
    pub fn finish(mut self) -> Vec<Packed> {
        if !self.text.is_empty() {
            self.packed.push(Packed::new(self.text));
        }
        self.packed
    }
}

/// `text` packed, if it is long enough to be worth it and packing makes it shorter; a text
/// starting with [`PACKED`] is packed whatever its length, so that it is never read as packed.
fn pack(text: &[u8]) -> Option<Box<[u8]>> {
    let starts_as_packed = text.first() == Some(&PACKED);
    if text.len() <= PACK_ABOVE && !starts_as_packed {
        return None;
    }
    let length = u32::try_from(text.len()).ok()?;
    let mut packed = vec![0; 5 + lz4_flex::block::get_maximum_output_size(text.len())];
    packed[0] = PACKED;
    packed[1..5].copy_from_slice(&length.to_le_bytes());
    let written = lz4_flex::block::compress_into_with_dict(text, &mut packed[5..], &DICTIONARY).ok()?;
    packed.truncate(5 + written);
    (packed.len() < text.len() || starts_as_packed).then(|| packed.into_boxed_slice())
}

/// A packed text that does not unpack to UTF-8: only a corrupted record could be one.
#[derive(Debug)]
pub struct Unreadable;

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a recorded text cannot be unpacked")
    }
}

impl std::error::Error for Unreadable {}

/// The text.
impl fmt::Display for Packed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text().map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Packed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.text() {
            Ok(text) => f.write_str(&text),
            Err(e) => write!(f, "<{e}>"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Packed {
        let packed = Packed::new(text.to_string());
        assert_eq!(packed.text().unwrap(), text);
        assert_eq!(packed.to_string(), text);
        assert_eq!(packed.text_len(), text.len());
        assert!(Packed::of(text) == packed, "borrowed, it packs the same");
        let mut room = vec![0xff; text.len()];
        packed.unpack_into(&mut room).unwrap();
        assert_eq!(room, text.as_bytes(), "unpacked into its room");
        for wrong in [text.len() + 1, text.len().saturating_sub(1)].into_iter().filter(|&n| n != text.len()) {
            assert!(packed.unpack_into(&mut vec![0; wrong]).is_err(), "a room of {wrong} for {}", text.len());
        }
        packed
    }

    #[test]
    fn pieces_join_to_the_texts_pushed() {
        let mut pieces = PackedPieces::default();
        let mut all = String::new();
        for i in 0..40_000 {
            let text = format!("diff --temper a/ConfigMap/c{i} b/ConfigMap/c{i}\n+  k: v{i}\n");
            pieces.push_str(&text);
            all.push_str(&text);
        }
        let packed = pieces.finish();
        assert!(packed.len() > 1 && packed.iter().all(Packed::is_packed), "{} pieces", packed.len());
        assert!(packed.iter().all(|p| p.text_len() <= PIECES_OF), "a piece is packed before it outgrows its room");
        assert!(packed.iter().map(Packed::held).sum::<usize>() < all.len() / 4, "similar texts pack together");
        assert_eq!(packed.iter().map(|p| p.text().unwrap()).collect::<String>(), all);
        assert!(PackedPieces::default().finish().is_empty());
    }

    #[test]
    fn gives_back_the_text_it_was_given() {
        assert!(!check("").is_packed());
        assert!(!check("{\"drop\":[\"ALL\"]}").is_packed(), "a short text is kept as it is");
        // Text that starts as a packed one does, however short: packed, so never misread.
        assert!(check("\0").is_packed());
        assert!(check("\0 and more").is_packed());
        // Nothing like the dictionary, characters of every width, longer than LZ4's window.
        let unlike: String =
            (0..70_000u32).map(|i| char::from_u32(0x20 + (i * 7919) % 0xD000).unwrap_or('x')).collect();
        check(&unlike);
        let plain = Packed::unpacked(unlike.clone());
        assert!(!plain.is_packed());
        assert_eq!(plain.text_len(), unlike.len());
        assert_eq!(plain.text().unwrap(), unlike);
        let starts_as_packed = Packed::unpacked("\0 and more".into());
        assert!(starts_as_packed.is_packed());
        assert_eq!(starts_as_packed.text().unwrap(), "\0 and more");
        // YAML, as a diff's hunks are.
        let hunk = "@@ -1,3 +1,9 @@\n spec:\n+  securityContext:\n+    runAsNonRoot: true\n".repeat(20);
        assert!(check(&hunk).is_packed());
    }

    /// What hardening adds, as a diff's hunk shows it once for a workload, packs to a small part
    /// of its length: the dictionary holds it (a hunk is not repeated within itself, so without
    /// the dictionary LZ4 finds little to refer back to).
    #[test]
    fn a_hunk_of_what_hardening_adds_packs_small() {
        let hunk = "@@ -19,3 +19,39 @@\n         ports:\n         - containerPort: 8080\n           name: http\n\
                    +        securityContext:\n+          allowPrivilegeEscalation: false\n\
                    +          readOnlyRootFilesystem: true\n+          capabilities:\n+            drop:\n\
                    +            - ALL\n+        volumeMounts:\n+        - name: temper-tmp\n+          mountPath: /tmp\n\
                    +        resources:\n+          requests:\n+            cpu: 100m\n+            memory: 128Mi\n\
                    +          limits:\n+            cpu: 500m\n+            memory: 256Mi\n\
                    +        imagePullPolicy: IfNotPresent\n+      securityContext:\n+        runAsNonRoot: true\n\
                    +        runAsUser: 5000\n+        runAsGroup: 4000\n+        fsGroup: 4000\n\
                    +        seccompProfile:\n+          type: RuntimeDefault\n";
        let packed = check(hunk);
        assert!(packed.held() * 3 < hunk.len(), "{} bytes packed of {}", packed.held(), hunk.len());
    }
}
