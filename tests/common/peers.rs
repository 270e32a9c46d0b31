//! Real network peers started by the tests (Orthanc, dcmtk's servers,
//! Hilum's own Store SCP): free ports, bounded waits, and a guard that
//! stops the process by its pid when the test ends, passed or failed.
//!
//! These servers listen on every interface (Orthanc 1.10 and dcmtk 3.6.7
//! have no bind address), so the tests that start them insist on an
//! isolated network namespace holding only loopback: `scripts/test.sh`
//! runs the suite inside one (`unshare --net`). Outside it they fail and say
//! so, unless `HILUM_TEST_SHARED_NETWORK=1` accepts the exposure.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Fails the test unless this process is in a network namespace whose only
/// interface is loopback (or the developer opted out).
pub fn require_isolated_network() {
    if std::env::var("HILUM_TEST_SHARED_NETWORK").as_deref() == Ok("1") {
        return;
    }
    let devices = std::fs::read_to_string("/proc/net/dev").unwrap_or_default();
    let interfaces: Vec<&str> = devices
        .lines()
        .skip(2)
        .filter_map(|line| line.split(':').next().map(str::trim))
        .filter(|name| !name.is_empty())
        .collect();
    assert!(
        interfaces.iter().all(|name| *name == "lo"),
        "this test starts servers that listen on every interface; run it through \
         scripts/test.sh (an isolated network namespace) or set HILUM_TEST_SHARED_NETWORK=1 \
         (interfaces here: {interfaces:?})"
    );
}

/// A TCP port free on loopback right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port on loopback")
}

/// Waits (at most `limit`) until something accepts connections on
/// 127.0.0.1:`port`; fails the test naming `what` otherwise.
pub fn wait_for_port(port: u16, limit: Duration, what: &str, child: &mut Child) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200))
            .is_ok()
        {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited ({status}) before listening on port {port}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on port {port} within {limit:?}");
}

/// A started server, stopped (killed by pid and reaped) when dropped.
pub struct Peer {
    /// The process.
    pub child: Child,
    /// What it is, for messages.
    pub name: String,
}

impl Peer {
    /// Starts `command` as `name`.
    pub fn start(name: &str, mut command: Command) -> Peer {
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Peer {
            child,
            name: name.to_string(),
        }
    }

    /// Waits until it listens on `port`.
    pub fn wait_for_port(&mut self, port: u16, limit: Duration) {
        wait_for_port(port, limit, &self.name, &mut self.child);
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
