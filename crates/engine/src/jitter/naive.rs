use crate::codec::{CodecError, Decoder, red};

/// The baseline receive path for benchmarks: decodes each packet the moment it arrives,
/// in arrival order, with no jitter buffer, no FEC, no concealment and no use of RED
/// redundancy (a RED packet's primary is decoded, its blocks ignored). What arrives late
/// plays late; what is lost is a hole the speaker fills with silence.
#[derive(Debug)]
pub struct NaiveReceivePath {
    decoder: Decoder,
    red_payload_type: Option<u8>,
    decode_errors: u64,
}

impl NaiveReceivePath {
    pub fn new() -> Result<Self, CodecError> {
        Ok(Self {
            // libopus' own default, as the seed design decoded: no neural models.
            decoder: Decoder::with_complexity(0)?,
            red_payload_type: None,
            decode_errors: 0,
        })
    }

    pub fn set_red_payload_type(&mut self, payload_type: Option<u8>) {
        self.red_payload_type = payload_type;
    }

    /// Decodes one packet into `out` and returns the samples written (0 when the payload
    /// is unusable).
    pub fn decode(&mut self, payload_type: u8, payload: &[u8], out: &mut [i16]) -> usize {
        let payload = if self.red_payload_type == Some(payload_type) {
            match red::parse(payload) {
                Ok(parsed) => parsed.primary.payload,
                Err(_) => {
                    self.decode_errors += 1;
                    return 0;
                }
            }
        } else {
            payload
        };
        match self.decoder.decode(payload, out) {
            Ok(n) => n,
            Err(_) => {
                self.decode_errors += 1;
                0
            }
        }
    }

    pub fn decode_errors(&self) -> u64 {
        self.decode_errors
    }
}
