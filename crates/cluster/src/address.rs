//! Addresses of cluster processes: `host:port`, or a scheduler as `df://host:port`.

use std::fmt;
use std::net::IpAddr;

use crate::error::{ClusterError, Result};

/// The port a scheduler listens on when an address gives none.
pub const DEFAULT_SCHEDULER_PORT: u16 = 50050;

/// A host and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Host name or IP address.
    pub host: String,
    /// Port.
    pub port: u16,
}

impl Address {
    /// Parses `host:port`, `[v6]:port`, `df://host:port` or `http://host:port` (a missing
    /// port is `default_port`), naming `flag` in the error.
    pub fn parse(flag: &str, text: &str, default_port: u16) -> Result<Address> {
        let bad = || ClusterError::Address { flag: flag.to_string(), text: text.to_string() };
        let rest = ["df://", "http://", "grpc://"].iter().find_map(|s| text.strip_prefix(s)).unwrap_or(text);
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && !port.contains(']') => {
                (host, port.parse::<u16>().map_err(|_| bad())?)
            }
            _ => (rest, default_port),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains('/') || host.contains(char::is_whitespace) {
            return Err(bad());
        }
        Ok(Address { host: host.to_string(), port })
    }

    /// The address as an `http://` URL (how Ballista's gRPC clients name a scheduler).
    pub fn http(&self) -> String {
        format!("http://{}", self.host_port())
    }

    /// The address as `df://host:port`.
    pub fn df(&self) -> String {
        format!("df://{}", self.host_port())
    }

    /// `host:port`, with brackets around an IPv6 host.
    pub fn host_port(&self) -> String {
        match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V6(_)) => format!("[{}]:{}", self.host, self.port),
            _ => format!("{}:{}", self.host, self.port),
        }
    }

    /// Whether the host is this machine only (`localhost`, `127.0.0.0/8`, `::1`).
    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost") || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// An error unless this address is a loopback one or `allow_insecure` is set: the
    /// processes of a cluster speak plain gRPC.
    pub fn check_insecure(&self, flag: &str, allow_insecure: bool) -> Result<()> {
        if self.is_loopback() {
            return Ok(());
        }
        if !allow_insecure {
            return Err(ClusterError::Insecure { flag: flag.to_string(), address: self.host_port() });
        }
        tracing::warn!(
            "{flag} {}: listening beyond this machine without TLS (cluster.allow_insecure); keep the cluster on a private network",
            self.host_port()
        );
        Ok(())
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.host_port())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_in_every_spelling() {
        let a = |t| Address::parse("--scheduler", t, DEFAULT_SCHEDULER_PORT).unwrap();
        assert_eq!(a("df://10.0.0.5:6000"), Address { host: "10.0.0.5".into(), port: 6000 });
        assert_eq!(a("sched.local"), Address { host: "sched.local".into(), port: 50050 });
        assert_eq!(a("http://localhost:7/"), Address { host: "localhost".into(), port: 7 });
        assert_eq!(a("[::1]:9"), Address { host: "::1".into(), port: 9 });
        assert_eq!(a("[::1]:9").host_port(), "[::1]:9");
        assert!(a("127.0.0.1:1").is_loopback() && a("[::1]:9").is_loopback() && !a("10.1.1.1:1").is_loopback());
    }

    #[test]
    fn bad_addresses_name_the_flag() {
        let e = Address::parse("--bind", "host:notaport", 1).unwrap_err().to_string();
        assert!(e.contains("--bind") && e.contains("notaport"), "{e}");
        assert!(Address::parse("--bind", "", 1).is_err());
        assert!(Address::parse("--bind", "a b:1", 1).is_err());
    }

    #[test]
    fn public_addresses_need_allow_insecure() {
        let public = Address::parse("--bind", "0.0.0.0:50050", 1).unwrap();
        assert!(public.check_insecure("--bind", false).unwrap_err().to_string().contains("allow_insecure"));
        assert!(public.check_insecure("--bind", true).is_ok());
    }
}
