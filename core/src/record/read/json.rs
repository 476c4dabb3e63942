//! The JSON formats (manifest, journal, Sage's record), streamed entry by
//! entry: each entry is checked and kept in its final form as it is read,
//! so memory grows with the entries and no document tree is built.

use std::cell::Cell;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{Format, Parsed, Rules, path};
use crate::Installed;
use crate::fs::Kind;
use crate::record::{Content, Detail, JOURNAL, MANIFEST, State, VERSION};

/// Reads a JSON document whole (trailing bytes other than whitespace make
/// it invalid).
pub(super) fn parse(bytes: &[u8], rules: &Rules<'_>) -> Result<Parsed, String> {
    let at = Cell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let doc = DocSeed { rules, at: &at }
        .deserialize(&mut de)
        .and_then(|doc| de.end().map(|()| doc))
        .map_err(|e| match at.get() {
            Some(i) => format!("files[{i}]: {e}"),
            None => e.to_string(),
        })?;
    doc.finish()
}

/// A document as read, before its parts are checked against each other.
struct Doc {
    format: Option<String>,
    version: Option<u64>,
    files: Option<Files>,
    /// The first key that is not one of the three.
    other: Option<String>,
}

/// The `files` list: names (Sage) or entries (manifest, journal).
#[derive(Default)]
struct Files {
    entries: Vec<Installed>,
    /// How many were strings, and the first that was not.
    strings: usize,
    first_object: Option<usize>,
    first_string: Option<usize>,
}

impl Doc {
    fn finish(self) -> Result<Parsed, String> {
        let files = self.files.ok_or("no \"files\" list")?;
        let format = match self.format.as_deref() {
            None => Format::Sage,
            Some(MANIFEST) => Format::Manifest,
            Some(JOURNAL) => Format::Journal,
            Some(other) => {
                return Err(format!(
                    "unknown \"format\" {:?}",
                    super::shown(other.as_bytes())
                ));
            }
        };
        if format == Format::Sage {
            // Sage's record has fields of its own (package_name,
            // install_date, ...); only its list is read.
            if let Some(i) = files.first_object {
                return Err(format!(
                    "files[{i}]: an object in a record without \"format\" (Sage's lists names)"
                ));
            }
        } else {
            match self.version {
                Some(VERSION) => {}
                Some(v) => {
                    return Err(format!(
                        "unknown \"version\" {v} (this stagemerge reads {VERSION})"
                    ));
                }
                None => return Err("no \"version\"".into()),
            }
            if let Some(k) = self.other {
                return Err(format!("unknown field {:?}", super::shown(k.as_bytes())));
            }
            if let Some(i) = files.first_string {
                return Err(format!(
                    "files[{i}]: a bare name where an entry object belongs"
                ));
            }
        }
        debug_assert!(files.strings == 0 || format == Format::Sage);
        Ok(Parsed {
            format,
            entries: files.entries,
        })
    }
}

struct DocSeed<'r> {
    rules: &'r Rules<'r>,
    /// The entry being read, for the error message.
    at: &'r Cell<Option<usize>>,
}

impl<'de> DeserializeSeed<'de> for DocSeed<'_> {
    type Value = Doc;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Doc, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DocSeed<'_> {
    type Value = Doc;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record: a JSON object with a \"files\" list")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Doc, A::Error> {
        let mut doc = Doc {
            format: None,
            version: None,
            files: None,
            other: None,
        };
        let twice = |k: &str| de::Error::custom(format_args!("\"{k}\" given twice"));
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match &*key {
                "format" if doc.format.is_some() => return Err(twice("format")),
                "format" => doc.format = Some(map.next_value()?),
                "version" if doc.version.is_some() => return Err(twice("version")),
                "version" => doc.version = Some(map.next_value()?),
                "files" if doc.files.is_some() => return Err(twice("files")),
                "files" => {
                    doc.files = Some(map.next_value_seed(FilesSeed {
                        rules: self.rules,
                        at: self.at,
                    })?);
                    self.at.set(None);
                }
                other => {
                    if doc.other.is_none() {
                        doc.other = Some(other.to_owned());
                    }
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(doc)
    }
}

struct FilesSeed<'r> {
    rules: &'r Rules<'r>,
    at: &'r Cell<Option<usize>>,
}

impl<'de> DeserializeSeed<'de> for FilesSeed<'_> {
    type Value = Files;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Files, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FilesSeed<'_> {
    type Value = Files;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of entries")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Files, A::Error> {
        let mut files = Files::default();
        loop {
            let i = files.entries.len();
            self.at.set(Some(i));
            let Some(elem) = seq.next_element_seed(ElemSeed { rules: self.rules })? else {
                break;
            };
            match elem {
                Elem::Name(_) => {
                    files.strings += 1;
                    files.first_string.get_or_insert(i);
                }
                Elem::Entry(_) => {
                    files.first_object.get_or_insert(i);
                }
            }
            files.entries.push(elem.into_installed());
        }
        Ok(files)
    }
}

/// One element of `files`.
enum Elem {
    /// A name (Sage's record).
    Name(PathBuf),
    /// An entry object (manifest, journal).
    Entry(Installed),
}

impl Elem {
    fn into_installed(self) -> Installed {
        match self {
            Elem::Name(path) => Installed {
                path,
                kind: None,
                detail: None,
                state: State::Placed,
            },
            Elem::Entry(i) => i,
        }
    }
}

struct ElemSeed<'r> {
    rules: &'r Rules<'r>,
}

impl<'de> DeserializeSeed<'de> for ElemSeed<'_> {
    type Value = Elem;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Elem, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ElemSeed<'_> {
    type Value = Elem;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an entry object or a name")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Elem, E> {
        path::check(s.as_bytes(), self.rules)
            .map(Elem::Name)
            .map_err(E::custom)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Elem, A::Error> {
        let doc = EntryDoc::deserialize(de::value::MapAccessDeserializer::new(map))?;
        entry(doc, self.rules)
            .map(Elem::Entry)
            .map_err(de::Error::custom)
    }
}

/// An entry as the manifest and the journal write it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryDoc {
    path: Option<String>,
    path_hex: Option<String>,
    kind: KindDoc,
    size: Option<u64>,
    mode: Option<String>,
    sha256: Option<String>,
    target: Option<String>,
    target_hex: Option<String>,
    state: Option<StateDoc>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum KindDoc {
    File,
    Symlink,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum StateDoc {
    Placed,
    Lost,
}

/// Checks an entry's fields against each other.
fn entry(d: EntryDoc, rules: &Rules<'_>) -> Result<Installed, String> {
    let bytes = name(d.path, d.path_hex, "path")?.ok_or("no \"path\"")?;
    let path = path::check(&bytes, rules)?;
    let kind = match d.kind {
        KindDoc::File => Kind::File,
        KindDoc::Symlink => Kind::Symlink,
    };
    let state = match d.state {
        None | Some(StateDoc::Placed) => State::Placed,
        Some(StateDoc::Lost) => State::Lost,
    };
    let target = name(d.target, d.target_hex, "target")?;
    let detail = match d.size {
        None => {
            if d.mode.is_some() || d.sha256.is_some() || target.is_some() {
                return Err("\"mode\", \"sha256\" or \"target\" without \"size\"".into());
            }
            None
        }
        Some(size) => Some(match kind {
            Kind::Symlink => {
                if d.sha256.is_some() || d.mode.is_some() {
                    return Err("a symlink with \"sha256\" or \"mode\"".into());
                }
                let text = target.ok_or("a symlink with \"size\" but no \"target\"")?;
                if text.is_empty() || text.contains(&0) {
                    return Err("an empty \"target\" or a NUL in it".into());
                }
                if text.len() as u64 != size {
                    return Err(format!(
                        "\"size\" {size} is not the length of \"target\" ({})",
                        text.len()
                    ));
                }
                let text =
                    (rules.name)(text).ok_or("a \"target\" that is no name on this platform")?;
                Detail {
                    size,
                    mode: None,
                    content: Content::Link { text },
                }
            }
            _ => {
                if target.is_some() {
                    return Err("a file with a \"target\"".into());
                }
                let h = d.sha256.ok_or("a file with \"size\" but no \"sha256\"")?;
                let mut sha256 = [0; 32];
                hex::decode_to_slice(&h, &mut sha256).map_err(|_| {
                    format!(
                        "\"sha256\" {:?} is not 64 hex digits",
                        super::shown(h.as_bytes())
                    )
                })?;
                Detail {
                    size,
                    mode: d.mode.as_deref().map(mode).transpose()?,
                    content: Content::File { sha256 },
                }
            }
        }),
    };
    Ok(Installed {
        path,
        kind: Some(kind),
        detail,
        state,
    })
}

/// The bytes of a name given as `key` (a string) or `key_hex`, not both.
fn name(s: Option<String>, hex: Option<String>, key: &str) -> Result<Option<Vec<u8>>, String> {
    match (s, hex) {
        (Some(_), Some(_)) => Err(format!("both \"{key}\" and \"{key}_hex\"")),
        (Some(s), None) => Ok(Some(s.into_bytes())),
        (None, Some(h)) => hex::decode(&h)
            .map(Some)
            .map_err(|_| format!("\"{key}_hex\" is not hex")),
        (None, None) => Ok(None),
    }
}

/// Permission bits written as octal digits (`"0644"`), at most `07777`.
fn mode(m: &str) -> Result<u32, String> {
    let ok = !m.is_empty() && m.len() <= 6 && m.bytes().all(|b| (b'0'..=b'7').contains(&b));
    match u32::from_str_radix(m, 8) {
        Ok(v) if ok && v <= 0o7777 => Ok(v),
        _ => Err(format!(
            "\"mode\" {:?} is not permission bits in octal",
            super::shown(m.as_bytes())
        )),
    }
}
