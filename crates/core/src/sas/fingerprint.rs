use std::fmt;

/// The certificate fingerprints a session description declares, as one canonical value:
/// every `a=fingerprint:` line (session or media level), trimmed, ASCII upper-case, without
/// repeats, sorted, joined by newlines.
///
/// All of them, not the first: a DTLS stack may accept a certificate that matches any one
/// of several lines (RFC 8122 §5), so a code over the first line alone would let a man in
/// the middle list the real fingerprint first and its own second.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// What `sdp` declares; `None` without any (non-empty) fingerprint line.
    pub fn from_sdp(sdp: &str) -> Option<Self> {
        Self::from_lines(
            sdp.lines()
                .filter_map(|line| line.trim().strip_prefix("a=fingerprint:")),
        )
    }

    /// A value stored earlier with [`Fingerprint::as_str`] (a pinned contact), made
    /// canonical again; `None` if it holds nothing.
    pub fn parse(stored: &str) -> Option<Self> {
        Self::from_lines(stored.split(['\n', ',']))
    }

    fn from_lines<'a>(lines: impl Iterator<Item = &'a str>) -> Option<Self> {
        let mut values: Vec<String> = lines
            .map(|value| value.trim().to_ascii_uppercase())
            .filter(|value| !value.is_empty())
            .collect();
        values.sort();
        values.dedup();
        (!values.is_empty()).then(|| Self(values.join("\n")))
    }

    /// The canonical form: what the commitment and the code hash, and what a pin stores.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One line per fingerprint is the canonical form; shown, they read `A, B`.
impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.replace('\n', ", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_at_session_or_media_level_and_upper_cased() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fingerprint:sha-256 aa:bb\r\n";
        assert_eq!(
            Fingerprint::from_sdp(sdp).map(|f| f.as_str().to_owned()),
            Some("SHA-256 AA:BB".to_owned())
        );
        assert_eq!(Fingerprint::from_sdp("v=0\r\n"), None);
        assert_eq!(Fingerprint::from_sdp("v=0\r\na=fingerprint: \r\n"), None);
    }

    #[test]
    fn every_line_counts_whatever_its_order_and_repeats() {
        let one =
            "a=fingerprint:sha-256 AA:BB\r\nm=audio 9 x 111\r\na=fingerprint:sha-256 CC:DD\r\n";
        let other = "a=fingerprint:sha-256 cc:dd\na=fingerprint:sha-256 AA:BB\na=fingerprint:sha-256 AA:BB\n";
        let (one, other) = (
            Fingerprint::from_sdp(one).expect("fingerprints"),
            Fingerprint::from_sdp(other).expect("fingerprints"),
        );
        assert_eq!(one, other);
        assert_eq!(one.as_str(), "SHA-256 AA:BB\nSHA-256 CC:DD");
        assert_eq!(one.to_string(), "SHA-256 AA:BB, SHA-256 CC:DD");
        // A second line is not the same certificate as the first alone.
        assert_ne!(Some(one.clone()), Fingerprint::parse("SHA-256 AA:BB"));
        assert_eq!(Fingerprint::parse(one.as_str()), Some(one.clone()));
        assert_eq!(Fingerprint::parse(&one.to_string()), Some(one));
        assert_eq!(Fingerprint::parse(" \n"), None);
    }
}
