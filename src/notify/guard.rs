//! Server-side request forgery guard: outbound deliveries go to public addresses only,
//! unless `webhooks.allow_private_networks`.
//!
//! The client resolves names through [`GuardedResolver`], which drops every refused
//! address, so the address checked is the address connected to (no window for a DNS
//! answer that changes in between). Literal IP hosts never reach a resolver and are
//! checked by [`check_url`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why an address is refused, if it is.
pub fn refused(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, d] = ip.octets();
    if ip == Ipv4Addr::new(169, 254, 169, 254) {
        Some("a cloud metadata address")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address")
    } else if ip.is_unspecified() || a == 0 {
        Some("an unspecified address")
    } else if ip.is_multicast() || ip.is_broadcast() || a >= 240 {
        Some("a multicast, broadcast or reserved address")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a carrier-grade NAT address")
    } else if a == 192 && b == 0 && c == 0 && d < 8 {
        Some("an IETF protocol address")
    } else {
        None
    }
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return refused_v4(v4);
    }
    let seg = ip.segments();
    if ip == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254) {
        Some("a cloud metadata address")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() {
        Some("an unspecified address")
    } else if (seg[0] & 0xfe00) == 0xfc00 {
        Some("a unique local (private) address")
    } else if (seg[0] & 0xffc0) == 0xfe80 {
        Some("a link-local address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0, 0, 0, 0] {
        // NAT64: judge the IPv4 address inside.
        let v4 = Ipv4Addr::new(
            seg[6].to_be_bytes()[0],
            seg[6].to_be_bytes()[1],
            seg[7].to_be_bytes()[0],
            seg[7].to_be_bytes()[1],
        );
        refused_v4(v4)
    } else {
        None
    }
}

/// Checks a URL whose host is a literal IP address (names are checked at resolution).
pub fn check_url(url: &url::Url, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    match refused(ip) {
        Some(why) => Err(format!(
            "{ip} is {why}; set webhooks.allow_private_networks to deliver there"
        )),
        None => Ok(()),
    }
}

/// Resolves with the system resolver and keeps only allowed addresses.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let total = found.len();
            let mut reasons = Vec::new();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match refused(a.ip()) {
                    Some(why) if !allow_private => {
                        reasons.push(format!("{} is {why}", a.ip()));
                        false
                    }
                    _ => true,
                })
                .collect();
            if allowed.is_empty() {
                let detail = if total == 0 {
                    format!("{host} has no address")
                } else {
                    format!(
                        "refused: {host} resolves only to addresses not allowed ({}); set webhooks.allow_private_networks to deliver there",
                        reasons.join(", ")
                    )
                };
                return Err(detail.into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_internal_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
        ] {
            let ip: IpAddr = ip.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
            assert!(refused(ip).is_some(), "{ip} should be refused");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "1.1.1.1"] {
            let ip: IpAddr = ip.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
            assert!(refused(ip).is_none(), "{ip} should be allowed");
        }
    }
}
