//! libopus' decoder, called directly: the `opus` crate's `Decoder` cannot set the decoder's
//! complexity, and that setting is what turns on libopus' neural packet-loss concealment
//! (deep PLC, complexity 5 and up) and its speech enhancement (LACE at 6, NoLACE at 7).
//! The encoder stays on the `opus` crate; both link the same libopus (`opusic-sys`).

use std::ffi::CStr;
use std::os::raw::c_int;
use std::ptr::NonNull;

use opusic_sys as ffi;

use super::error::LibopusError;

/// One mono libopus decoder state, freed on drop.
pub(super) struct RawDecoder {
    ptr: NonNull<ffi::OpusDecoder>,
}

// SAFETY: the state is heap memory owned by this value alone; libopus keeps no reference to
// it and no thread-affine state, so it may be used from whichever thread owns the value.
unsafe impl Send for RawDecoder {}

impl RawDecoder {
    /// Mono only: `decode` lets libopus write as many samples as `out` holds, one per
    /// sample time, which a stereo decoder would overrun.
    pub(super) fn mono(sample_rate: u32) -> Result<Self, LibopusError> {
        let rate = c_int::try_from(sample_rate)
            .map_err(|_| LibopusError::from_code("opus_decoder_create", ffi::OPUS_BAD_ARG))?;
        let mut error: c_int = ffi::OPUS_OK;
        // SAFETY: `error` outlives the call; libopus validates rate and channels itself.
        let ptr = unsafe { ffi::opus_decoder_create(rate, 1, &mut error) };
        match NonNull::new(ptr) {
            Some(ptr) if error == ffi::OPUS_OK => Ok(Self { ptr }),
            Some(ptr) => {
                // SAFETY: created just above and not used after this.
                unsafe { ffi::opus_decoder_destroy(ptr.as_ptr()) };
                Err(LibopusError::from_code("opus_decoder_create", error))
            }
            None => Err(LibopusError::from_code("opus_decoder_create", error)),
        }
    }

    /// Decodes `packet` (empty: conceal one `out`-long frame) into `out`, which sets the
    /// most samples per channel libopus may write; returns the samples per channel written.
    pub(super) fn decode(
        &mut self,
        packet: &[u8],
        out: &mut [i16],
        fec: bool,
    ) -> Result<usize, LibopusError> {
        let bad_arg = || LibopusError::from_code("opus_decode", ffi::OPUS_BAD_ARG);
        let len = ffi::opus_int32::try_from(packet.len()).map_err(|_| bad_arg())?;
        let frame = c_int::try_from(out.len()).map_err(|_| bad_arg())?;
        // libopus reads a null packet as a lost one.
        let data = if packet.is_empty() {
            std::ptr::null()
        } else {
            packet.as_ptr()
        };
        // SAFETY: `data` is null or points at `len` readable bytes, and `out` holds the
        // `frame` samples libopus may write for one channel (the decoder is mono, `mono`).
        let n = unsafe {
            ffi::opus_decode(
                self.ptr.as_ptr(),
                data,
                len,
                out.as_mut_ptr(),
                frame,
                c_int::from(fec),
            )
        };
        usize::try_from(n).map_err(|_| LibopusError::from_code("opus_decode", n))
    }

    /// 0–10; libopus refuses anything else.
    pub(super) fn set_complexity(&mut self, complexity: i32) -> Result<(), LibopusError> {
        // SAFETY: OPUS_SET_COMPLEXITY takes one opus_int32 argument.
        let rc = unsafe {
            ffi::opus_decoder_ctl(
                self.ptr.as_ptr(),
                ffi::OPUS_SET_COMPLEXITY_REQUEST,
                complexity,
            )
        };
        if rc == ffi::OPUS_OK {
            Ok(())
        } else {
            Err(LibopusError::from_code("OPUS_SET_COMPLEXITY", rc))
        }
    }
}

impl Drop for RawDecoder {
    fn drop(&mut self) {
        // SAFETY: created by `opus_decoder_create` and freed only here.
        unsafe { ffi::opus_decoder_destroy(self.ptr.as_ptr()) };
    }
}

/// libopus' own text for an error code (a static string for every code).
pub(super) fn strerror(code: c_int) -> &'static str {
    // SAFETY: opus_strerror returns a pointer to a static NUL-terminated string for any code.
    let text = unsafe { CStr::from_ptr(ffi::opus_strerror(code)) };
    text.to_str().unwrap_or("unknown error")
}
