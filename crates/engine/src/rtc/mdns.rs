//! Whether this machine can resolve the `.local` candidates browsers send.
//!
//! webrtc-rs opens an mDNS socket for every peer connection and joins 224.0.0.251 on it;
//! where no interface can carry multicast (a host without a multicast route: VPN-only
//! hosts, containers, locked-down desktops) joining fails with ENODEV and takes the whole
//! connection down with it. A call needs mDNS only for a peer that hides its addresses
//! behind `.local` names, so without it the call goes ahead and such candidates are
//! ignored.

use std::sync::atomic::{AtomicBool, Ordering};

use rtc::ice::mdns::MulticastDnsMode;
use rtc::mdns::MulticastSocket;

/// Said once per process: the route rarely changes, and every call would repeat it.
static WARNED: AtomicBool = AtomicBool::new(false);

/// `QueryOnly` where an mDNS socket can be opened exactly as webrtc-rs opens it (our own
/// candidates always carry plain addresses), `Disabled` where it cannot.
pub(super) fn mode() -> MulticastDnsMode {
    match MulticastSocket::new().into_std() {
        // The probe's socket closes here; the peer connection opens its own.
        Ok(_probe) => MulticastDnsMode::QueryOnly,
        Err(error) => {
            if !WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    %error,
                    "mDNS is unavailable here (no multicast route?): calls go ahead without \
                     it, and peers' `.local` candidates are ignored"
                );
            }
            MulticastDnsMode::Disabled
        }
    }
}
