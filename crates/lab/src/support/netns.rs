//! Network namespaces a test creates for itself: hosts, routers and NATs on one machine.

use std::ffi::OsStr;
use std::process::Command;

/// `program`, run inside the namespace `ns` when there is one (`ip netns exec NS program`).
pub fn command_in(ns: Option<&str>, program: impl AsRef<OsStr>) -> Command {
    match ns {
        None => Command::new(program),
        Some(ns) => {
            let mut cmd = Command::new("ip");
            cmd.args(["netns", "exec", ns]).arg(program);
            cmd
        }
    }
}

/// Set in the copy of a program that [`isolate_loopback_only`] started.
const ISOLATED_MARK: &str = "VOICECALL_LOOPBACK_ONLY_NETNS";

/// Runs the rest of this program in a network namespace of its own that has only a loopback
/// interface, so that chromium (which gathers candidates on every interface it sees) and
/// the native client can only ever reach 127.0.0.1, and every server the program starts
/// on 127.0.0.1 is its own. The program runs itself again under `unshare --net` and exits
/// with that copy's status; in the copy this returns at once. Call it first thing in
/// `main`, before any thread or server is started. Loopback gets a multicast route:
/// webrtc-rs's mDNS socket fails a call's set-up without one.
pub fn isolate_loopback_only() {
    if std::env::var_os(ISOLATED_MARK).is_some() {
        return;
    }
    let exe = std::env::current_exe().expect("this program's path");
    let setup = "ip link set lo up && ip link set lo multicast on && \
                 ip route add 224.0.0.0/4 dev lo && exec \"$@\"";
    // Root can make a namespace directly; elsewhere a user namespace maps us to root in it.
    let flags = [&["--net"][..], &["--net", "--map-root-user"][..]]
        .into_iter()
        .find(|flags| can_unshare(flags))
        .expect("cannot create a network namespace: `unshare --net` needs root or user namespaces");
    let status = Command::new("unshare")
        .args(flags)
        .args(["--", "sh", "-ec", setup, "sh"])
        .arg(&exe)
        .args(std::env::args_os().skip(1))
        .env(ISOLATED_MARK, "1")
        .status()
        .unwrap_or_else(|err| panic!("run unshare (util-linux): {err}"));
    std::process::exit(status.code().unwrap_or(1));
}

fn can_unshare(flags: &[&str]) -> bool {
    Command::new("unshare")
        .args(flags)
        .arg("true")
        .status()
        .is_ok_and(|s| s.success())
}

/// A set of namespaces with a unique prefix; all of them are deleted on drop.
pub struct Lab {
    prefix: String,
    namespaces: Vec<String>,
}

impl Lab {
    pub fn new(tag: &str) -> Self {
        assert!(
            Command::new("ip").arg("-V").output().is_ok(),
            "these tests need iproute2 (`ip`), installed by deploy/setup-debian.sh"
        );
        // Namespace and interface names must stay short; 4 random hex digits keep parallel
        // tests apart.
        let prefix = format!("vc{}{:04x}", tag, rand::random::<u16>());
        Self {
            prefix,
            namespaces: Vec::new(),
        }
    }

    pub fn ns(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    /// Creates a namespace with its loopback up.
    pub fn add(&mut self, name: &str) -> String {
        let ns = self.ns(name);
        sh(&format!("ip netns add {ns} && ip -n {ns} link set lo up"));
        self.namespaces.push(ns.clone());
        ns
    }

    /// Runs a shell command inside a namespace and insists it works.
    pub fn run(&self, ns: &str, script: &str) {
        sh(&format!("ip netns exec {ns} sh -ec '{script}'"));
    }

    /// A veth pair between two namespaces, with addresses (CIDR) and both ends up.
    pub fn link(&self, a: (&str, &str, &str), b: (&str, &str, &str)) {
        let ((ns_a, if_a, addr_a), (ns_b, if_b, addr_b)) = (a, b);
        sh(&format!(
            "ip link add {if_a} netns {ns_a} type veth peer name {if_b} netns {ns_b} && \
             ip -n {ns_a} link set {if_a} up && ip -n {ns_b} link set {if_b} up"
        ));
        if !addr_a.is_empty() {
            sh(&format!("ip -n {ns_a} addr add {addr_a} dev {if_a}"));
        }
        if !addr_b.is_empty() {
            sh(&format!("ip -n {ns_b} addr add {addr_b} dev {if_b}"));
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in self.namespaces.iter().rev() {
            // Processes still inside keep a namespace alive; kill them first.
            let _ = Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "ip netns pids {ns} | xargs -r kill -9; ip netns del {ns}"
                ))
                .status();
        }
    }
}

pub fn sh(script: &str) {
    let out = Command::new("sh")
        .arg("-ec")
        .arg(script)
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "`{script}` failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// How a site's router treats its client's traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nat {
    /// Plain routing: the client's address is reachable as is.
    None,
    /// Linux MASQUERADE: one mapping per internal port (endpoint-independent-ish).
    Masquerade,
    /// MASQUERADE --random-fully: a fresh port per destination, i.e. a symmetric NAT.
    Symmetric,
    /// MASQUERADE and no UDP at all leaves the site: only TCP (e.g. TURN over TCP).
    UdpBlocked,
    /// No UDP and no plain TURN over TCP (port 3478) either: only TLS on 5349 gets out.
    TlsOnly,
}

/// A "public" segment (10.0.0.0/24, the servers at 10.0.0.1) and two sites, each a router
/// and a client behind it on 192.168.{1,2}.0/24.
pub struct Topology {
    pub lab: Lab,
    /// The public segment's namespace, where the servers run at [`PUBLIC_IP`].
    pub public: String,
    pub sites: [Site; 2],
}

/// One site: a client's namespace behind its router's.
#[derive(Debug, Default, Clone)]
pub struct Site {
    /// The client's namespace.
    pub client: String,
    /// The client's address there.
    pub client_ip: String,
    /// The router's namespace (its `wan` faces the public segment).
    pub router: String,
}

pub const PUBLIC_IP: &str = "10.0.0.1";

impl Topology {
    pub fn build(tag: &str, nat: [Nat; 2]) -> Self {
        let mut lab = Lab::new(tag);
        let public = lab.add("pub");
        lab.run(
            &public,
            "ip link add br0 type bridge && ip link set br0 up && ip addr add 10.0.0.1/24 dev br0",
        );
        let mut sites: [Site; 2] = Default::default();
        for site in 0..2 {
            let n = site + 1;
            let router = lab.add(&format!("r{n}"));
            let client = lab.add(&format!("c{n}"));
            lab.link(
                (&router, "wan", &format!("10.0.0.{}/24", 10 + n)),
                (&public, &format!("p{n}"), ""),
            );
            lab.run(&public, &format!("ip link set p{n} master br0"));
            lab.link(
                (&router, "lan", &format!("192.168.{n}.1/24")),
                (&client, "eth0", &format!("192.168.{n}.2/24")),
            );
            lab.run(&client, &format!("ip route add default via 192.168.{n}.1"));
            lab.run(&router, "sysctl -qw net.ipv4.ip_forward=1");
            let other = 3 - n;
            match nat[site] {
                Nat::None => {
                    lab.run(&router, &format!("ip route add 192.168.{other}.0/24 via 10.0.0.{}", 10 + other));
                    lab.run(&public, &format!("ip route add 192.168.{n}.0/24 via 10.0.0.{}", 10 + n));
                }
                Nat::Masquerade => lab.run(&router, "iptables -t nat -A POSTROUTING -o wan -j MASQUERADE"),
                Nat::Symmetric => {
                    lab.run(&router, "iptables -t nat -A POSTROUTING -o wan -j MASQUERADE --random-fully")
                }
                Nat::UdpBlocked => lab.run(
                    &router,
                    "iptables -t nat -A POSTROUTING -o wan -j MASQUERADE && iptables -A FORWARD -p udp -j DROP",
                ),
                Nat::TlsOnly => lab.run(
                    &router,
                    "iptables -t nat -A POSTROUTING -o wan -j MASQUERADE && iptables -A FORWARD -p udp -j DROP \
                     && iptables -A FORWARD -p tcp --dport 3478 -j DROP",
                ),
            }
            if nat[site] != Nat::None {
                // A real NAT drops unsolicited packets. Linux would instead track them as
                // connections to the router itself, and the client's own later packet to
                // the same peer would then clash with that entry and get a new port:
                // simultaneous hole punching would fail for a reason no home router has.
                // A packet dropped before conntrack confirms it leaves no entry behind.
                lab.run(
                    &router,
                    "iptables -A INPUT -i wan -p udp -m conntrack --ctstate NEW -j DROP",
                );
            }
            sites[site] = Site {
                client,
                client_ip: format!("192.168.{n}.2"),
                router,
            };
        }
        Self { lab, public, sites }
    }
}
