//! Separate hosts for fault tests: one network namespace per node, each with its own
//! address, joined by veth pairs to a bridge in a namespace of its own (the "switch": the
//! test's namespace may filter bridged traffic, as Docker's FORWARD policy does), which
//! the test's namespace reaches through one more veth pair. A partition drops, inside the namespaces, what one group of hosts receives from
//! the other (`iptables`), both ways; healing flushes those rules. Everything is removed on
//! drop.
//!
//! Needs root, `ip` (iproute2) and `iptables`: [`Net::create`] says why it cannot, and a test
//! skips then, except under CI, where it fails.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Hosts made by one test: namespaces, their veths and the switch.
pub struct Net {
    /// Prefix of every name (bridge, namespaces, veths): unique per test process and net.
    prefix: String,
    /// The second and third octets of the hosts' 10.x.y.0/24 network.
    subnet: (u8, u8),
    hosts: usize,
}

/// Runs `program args`, failing with its output when it fails.
fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

impl Net {
    /// Makes `hosts` namespaces on a fresh switch.
    pub fn create(hosts: usize) -> Result<Net, String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let serial = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let net = Net {
            prefix: format!("sh{}{}", pid % 100_000, serial),
            subnet: (100 + (pid % 100) as u8, (serial % 250) as u8),
            hosts,
        };
        run("iptables", &["--version"])?;
        let switch = net.switch();
        let in_switch = |args: &[&str]| {
            let mut all = vec!["netns", "exec", &switch];
            all.extend_from_slice(args);
            run("ip", &all)
        };
        run("ip", &["netns", "add", &switch])?;
        in_switch(&["ip", "link", "add", "br0", "type", "bridge"])?;
        in_switch(&["ip", "link", "set", "br0", "up"])?;
        let uplink = format!("{}up", net.prefix);
        let link_to = |name: &str, peer: &str, ns: &str| {
            run(
                "ip",
                &[
                    "link", "add", name, "type", "veth", "peer", "name", peer, "netns", ns,
                ],
            )
        };
        link_to(&uplink, "up0", &switch)?;
        in_switch(&["ip", "link", "set", "up0", "master", "br0", "up"])?;
        let gateway = format!("{}/24", net.address(254));
        run("ip", &["addr", "add", &gateway, "dev", &uplink])?;
        run("ip", &["link", "set", &uplink, "up"])?;
        for host in 0..hosts {
            let ns = net.namespace(host);
            let veth = format!("{}v{host}", net.prefix);
            run("ip", &["netns", "add", &ns])?;
            link_to(&veth, "eth0", &ns)?;
            run("ip", &["link", "set", &veth, "netns", &switch])?;
            in_switch(&["ip", "link", "set", &veth, "master", "br0", "up"])?;
            let inside = |args: &[&str]| {
                let mut all = vec!["netns", "exec", &ns];
                all.extend_from_slice(args);
                run("ip", &all)
            };
            inside(&[
                "ip",
                "addr",
                "add",
                &format!("{}/24", net.ip(host)),
                "dev",
                "eth0",
            ])?;
            inside(&["ip", "link", "set", "eth0", "up"])?;
            inside(&["ip", "link", "set", "lo", "up"])?;
        }
        Ok(net)
    }

    fn switch(&self) -> String {
        format!("{}sw", self.prefix)
    }

    fn address(&self, last: usize) -> String {
        format!("10.{}.{}.{last}", self.subnet.0, self.subnet.1)
    }

    /// The address of host `host` (0-based).
    pub fn ip(&self, host: usize) -> String {
        self.address(host + 1)
    }

    /// The namespace of host `host`.
    pub fn namespace(&self, host: usize) -> String {
        format!("{}n{host}", self.prefix)
    }

    /// The launcher that runs a program on host `host`.
    pub fn launcher(&self, host: usize) -> Vec<String> {
        vec![
            "ip".to_string(),
            "netns".to_string(),
            "exec".to_string(),
            self.namespace(host),
        ]
    }

    /// Cuts every host of `a` off from every host of `b`, both ways (the test's own
    /// namespace still reaches all).
    pub fn cut(&self, a: &[usize], b: &[usize]) -> Result<(), String> {
        for (from, to) in a
            .iter()
            .flat_map(|&x| b.iter().map(move |&y| (x, y)))
            .flat_map(|(x, y)| [(x, y), (y, x)])
        {
            let ns = self.namespace(to);
            let source = self.ip(from);
            run(
                "ip",
                &[
                    "netns", "exec", &ns, "iptables", "-A", "INPUT", "-s", &source, "-j", "DROP",
                ],
            )?;
        }
        Ok(())
    }

    /// Removes every cut.
    pub fn heal(&self) -> Result<(), String> {
        for host in 0..self.hosts {
            let ns = self.namespace(host);
            run("ip", &["netns", "exec", &ns, "iptables", "-F", "INPUT"])?;
        }
        Ok(())
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for host in 0..self.hosts {
            let _ = run("ip", &["netns", "del", &self.namespace(host)]);
        }
        let _ = run("ip", &["netns", "del", &self.switch()]);
        let _ = run("ip", &["link", "del", &format!("{}up", self.prefix)]);
    }
}
