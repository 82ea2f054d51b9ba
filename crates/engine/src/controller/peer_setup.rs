//! Building a call's peer connection without holding up the controller: fetching fresh
//! ICE servers (up to 2 s), DNS and the TURN-over-TCP/TLS bridges, and, without trickle
//! ICE, waiting for candidate gathering (up to 5 s) all happen in a task of their own,
//! whose result comes back to the controller as a [`Done`]. The controller keeps taking
//! commands meanwhile, so a Cancel or Hang-up never waits for any of it.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};

use crate::rtc::{LocalDescription, PreparedIce, RtcConfig, RtcError, RtcEvent, RtcPeer};
use voicecall_core::call::Role;
use voicecall_core::ice::IceServer;
use voicecall_core::signaling::message::SessionDescription;

/// What a task started by the controller reports back, tagged with the peer generation it
/// was started for: a result for a peer the call has since closed is stale.
pub(super) enum Done {
    Peer {
        generation: u64,
        result: Result<Ready, RtcError>,
    },
    /// A description finished waiting for candidate gathering.
    Described {
        generation: u64,
        description: SessionDescription,
    },
}

/// A built peer connection, its events, and the description to send (an offer, or the
/// answer to the offer it was given).
pub(super) struct Ready {
    pub peer: RtcPeer,
    pub events: mpsc::UnboundedReceiver<RtcEvent>,
    pub local: Option<SessionDescription>,
}

/// What to build.
pub(super) struct Setup<I> {
    pub role: Role,
    pub remote_offer: Option<SessionDescription>,
    pub rtc: RtcConfig,
    /// The ICE servers the signaling server issued (refreshed first if they expire soon).
    pub issued: I,
}

/// A setup in progress; dropping it abandons the setup (a peer already built is closed).
pub(super) struct Abandon(#[allow(dead_code)] oneshot::Sender<()>);

/// Starts building in a task; the result arrives on `done` unless abandoned first.
pub(super) fn spawn<I>(
    generation: u64,
    setup: Setup<I>,
    done: mpsc::UnboundedSender<Done>,
) -> Abandon
where
    I: Future<Output = Vec<IceServer>> + Send + 'static,
{
    let (abandon, abandoned) = oneshot::channel();
    tokio::spawn(async move {
        if let Some(result) = build(setup, abandoned).await
            && let Err(mpsc::error::SendError(Done::Peer {
                result: Ok(ready), ..
            })) = done.send(Done::Peer { generation, result })
        {
            // The controller is gone: nobody else will close this connection.
            ready.peer.close().await;
        }
    });
    Abandon(abandon)
}

/// Waits on `work` unless the setup is abandoned first (`None`).
async fn unless<F: Future>(abandoned: &mut oneshot::Receiver<()>, work: F) -> Option<F::Output> {
    tokio::select! {
        biased;
        _ = abandoned => None,
        output = work => Some(output),
    }
}

/// `None` when abandoned.
async fn build<I>(
    setup: Setup<I>,
    mut abandoned: oneshot::Receiver<()>,
) -> Option<Result<Ready, RtcError>>
where
    I: Future<Output = Vec<IceServer>>,
{
    let Setup {
        role,
        remote_offer,
        mut rtc,
        issued,
    } = setup;
    rtc.ice_servers
        .extend(unless(&mut abandoned, issued).await?);
    let ice = unless(&mut abandoned, PreparedIce::prepare(&rtc)).await?;
    // From here on a connection exists and must be closed if the call is gone.
    let (events_tx, events) = mpsc::unbounded_channel();
    let mut peer = match RtcPeer::build(&rtc, ice, events_tx).await {
        Ok(peer) => peer,
        Err(err) => return Some(Err(err)),
    };
    let local = match (role, remote_offer) {
        (Role::Caller, _) => peer.create_offer().await.map(Some),
        (Role::Callee, Some(offer)) => peer.apply_remote(&offer).await,
        (Role::Callee, None) => Ok(None),
    };
    let local = match local {
        Ok(Some(LocalDescription::Ready(description))) => Some(description),
        Ok(Some(LocalDescription::AfterGathering(pending))) => {
            match unless(&mut abandoned, pending.complete()).await {
                Some(description) => Some(description),
                None => {
                    peer.close().await;
                    return None;
                }
            }
        }
        Ok(None) => None,
        Err(err) => {
            peer.close().await;
            return Some(Err(err));
        }
    };
    if !matches!(
        abandoned.try_recv(),
        Err(oneshot::error::TryRecvError::Empty)
    ) {
        peer.close().await;
        return None;
    }
    Some(Ok(Ready {
        peer,
        events,
        local,
    }))
}
