//! A machine whose network cannot carry multicast (no multicast route: VPN-only hosts,
//! containers, locked-down desktops) still makes calls. webrtc-rs's mDNS socket cannot
//! join its group there; the client says so once and calls without it.

use std::time::Duration;

use voicecall_lab::support::netns::{Lab, command_in};
use voicecall_lab::support::{Client, Conversation, Server, expect_caller_hung_up};

/// The warning each client prints once when mDNS cannot start.
const MDNS_WARNING: &str = "mDNS is unavailable";

#[test]
fn calls_connect_in_a_namespace_without_a_multicast_route() {
    let mut lab = Lab::new("mc");
    // Loopback only, as `ip netns add` leaves it: no MULTICAST flag, no 224.0.0.0/4 route.
    let ns = lab.add("lo");
    let route = command_in(Some(&ns), "ip")
        .args(["route", "get", "224.0.0.251"])
        .output()
        .expect("run ip");
    assert!(
        !route.status.success(),
        "the namespace must have no multicast route: {}",
        String::from_utf8_lossy(&route.stdout)
    );

    let server = Server::builder().in_netns(&ns, "127.0.0.1").start();
    let talk = Conversation::new("no_multicast");
    let mut callee = Client::listen(&server)
        .in_netns(&ns)
        .auto_accept()
        .once()
        .talks_as(&talk.callee)
        .spawn();
    let mut caller = Client::call(&server, &callee.id)
        .in_netns(&ns)
        .hang_up_after(Duration::from_secs(6))
        .talks_as(&talk.caller)
        .spawn();

    expect_caller_hung_up(&mut caller, &mut callee, Duration::from_secs(40));
    for client in [&caller, &callee] {
        let warnings = client.stderr().matches(MDNS_WARNING).count();
        assert_eq!(warnings, 1, "one mDNS warning each:\n{}", client.stderr());
    }
    talk.assert_both_heard();
}
