//! Which addresses an allowed name may lead to.
//!
//! Only global unicast addresses are dialled. Everything else is refused even when an
//! allowed name resolves to it: that stops DNS rebinding (an allowed or attacker-controlled
//! name answering with 127.0.0.1, 10.x, 169.254.169.254) from reaching the host's own
//! services, the local network or a cloud metadata endpoint.

use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The class of an address; everything but `Public` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddrClass {
    Public,
    Unspecified,
    Loopback,
    /// RFC 1918 (10/8, 172.16/12, 192.168/16).
    Private,
    /// 169.254/16, fe80::/10.
    LinkLocal,
    /// 100.64/10 (carrier-grade NAT, also used by some clouds internally).
    Cgnat,
    /// Cloud metadata endpoints: 169.254.169.254, fd00:ec2::254.
    Metadata,
    /// fc00::/7.
    UniqueLocal,
    Multicast,
    Broadcast,
    /// Documentation, benchmarking, reserved and special-purpose ranges (0/8, 192.0.0/24,
    /// 192.0.2/24, 198.18/15, 198.51.100/24, 203.0.113/24, 240/4, 2001:db8::/32, ...).
    Reserved,
    /// An IPv6 form that embeds an IPv4 address (mapped ::ffff:0:0/96, compatible ::/96,
    /// NAT64 64:ff9b::/96, 6to4 2002::/16, Teredo 2001::/32): refused whatever it embeds,
    /// since the kernel or a translator would deliver it to the embedded address.
    EmbeddedV4,
    /// fec0::/10 (deprecated site-local).
    SiteLocal,
}

impl AddrClass {
    pub fn allowed(self) -> bool {
        self == AddrClass::Public
    }
}

/// Classify an address.
pub fn classify(ip: IpAddr) -> AddrClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn in_v4(ip: u32, net: [u8; 4], bits: u32) -> bool {
    let net = u32::from_be_bytes(net);
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    ip & mask == net & mask
}

fn classify_v4(ip: Ipv4Addr) -> AddrClass {
    let n = u32::from(ip);
    if ip == Ipv4Addr::new(169, 254, 169, 254) {
        return AddrClass::Metadata;
    }
    if ip.is_broadcast() {
        return AddrClass::Broadcast;
    }
    let table: &[([u8; 4], u32, AddrClass)] = &[
        ([0, 0, 0, 0], 32, AddrClass::Unspecified),
        ([0, 0, 0, 0], 8, AddrClass::Reserved),
        ([127, 0, 0, 0], 8, AddrClass::Loopback),
        ([10, 0, 0, 0], 8, AddrClass::Private),
        ([172, 16, 0, 0], 12, AddrClass::Private),
        ([192, 168, 0, 0], 16, AddrClass::Private),
        ([169, 254, 0, 0], 16, AddrClass::LinkLocal),
        ([100, 64, 0, 0], 10, AddrClass::Cgnat),
        ([192, 0, 0, 0], 24, AddrClass::Reserved),
        ([192, 0, 2, 0], 24, AddrClass::Reserved),
        ([192, 88, 99, 0], 24, AddrClass::Reserved),
        ([198, 18, 0, 0], 15, AddrClass::Reserved),
        ([198, 51, 100, 0], 24, AddrClass::Reserved),
        ([203, 0, 113, 0], 24, AddrClass::Reserved),
        ([224, 0, 0, 0], 4, AddrClass::Multicast),
        ([240, 0, 0, 0], 4, AddrClass::Reserved),
    ];
    table
        .iter()
        .find(|(net, bits, _)| in_v4(n, *net, *bits))
        .map_or(AddrClass::Public, |(_, _, c)| *c)
}

fn in_v6(ip: u128, net: u128, bits: u32) -> bool {
    let mask = if bits == 0 {
        0
    } else {
        u128::MAX << (128 - bits)
    };
    ip & mask == net & mask
}

fn classify_v6(ip: Ipv6Addr) -> AddrClass {
    let n = u128::from(ip);
    let metadata: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);
    if ip == metadata {
        return AddrClass::Metadata;
    }
    if ip.is_unspecified() {
        return AddrClass::Unspecified;
    }
    if ip.is_loopback() {
        return AddrClass::Loopback;
    }
    let table: &[(u128, u32, AddrClass)] = &[
        (0xffff_0000_0000, 96, AddrClass::EmbeddedV4), // ::ffff:0:0/96 mapped
        (0, 96, AddrClass::EmbeddedV4),                // ::/96 compatible (deprecated)
        (0x0064_ff9b << 96, 96, AddrClass::EmbeddedV4), // 64:ff9b::/96 NAT64
        (0x0064_ff9b_0001 << 80, 48, AddrClass::EmbeddedV4), // 64:ff9b:1::/48 local NAT64
        (0x2002 << 112, 16, AddrClass::EmbeddedV4),    // 6to4
        (0x2001_0000 << 96, 32, AddrClass::EmbeddedV4), // Teredo
        (0x0100 << 112, 64, AddrClass::Reserved),      // 100::/64 discard
        (0x2001_0db8 << 96, 32, AddrClass::Reserved),  // documentation
        (0x2001_0002 << 96, 48, AddrClass::Reserved),  // benchmarking
        (0x3fff << 112, 20, AddrClass::Reserved),      // documentation (RFC 9637)
        (0xfe80 << 112, 10, AddrClass::LinkLocal),
        (0xfec0 << 112, 10, AddrClass::SiteLocal),
        (0xfc00 << 112, 7, AddrClass::UniqueLocal),
        (0xff00 << 112, 8, AddrClass::Multicast),
    ];
    if let Some((_, _, c)) = table.iter().find(|(net, bits, _)| in_v6(n, *net, *bits)) {
        return *c;
    }
    // Only 2000::/3 is allocated global unicast; anything else is reserved.
    if in_v6(n, 0x2000 << 112, 3) {
        AddrClass::Public
    } else {
        AddrClass::Reserved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> AddrClass {
        classify(s.parse().unwrap())
    }

    #[test]
    fn classifies_v4() {
        for (a, want) in [
            ("1.1.1.1", AddrClass::Public),
            ("93.184.216.34", AddrClass::Public),
            ("0.0.0.0", AddrClass::Unspecified),
            ("0.1.2.3", AddrClass::Reserved),
            ("127.0.0.1", AddrClass::Loopback),
            ("127.255.0.3", AddrClass::Loopback),
            ("10.1.2.3", AddrClass::Private),
            ("172.16.0.1", AddrClass::Private),
            ("172.31.255.255", AddrClass::Private),
            ("172.32.0.1", AddrClass::Public),
            ("192.168.1.1", AddrClass::Private),
            ("169.254.1.1", AddrClass::LinkLocal),
            ("169.254.169.254", AddrClass::Metadata),
            ("100.64.0.1", AddrClass::Cgnat),
            ("100.127.255.255", AddrClass::Cgnat),
            ("100.128.0.1", AddrClass::Public),
            ("224.0.0.1", AddrClass::Multicast),
            ("239.1.1.1", AddrClass::Multicast),
            ("240.0.0.1", AddrClass::Reserved),
            ("255.255.255.255", AddrClass::Broadcast),
            ("198.18.0.1", AddrClass::Reserved),
            ("192.0.2.1", AddrClass::Reserved),
        ] {
            assert_eq!(c(a), want, "{a}");
        }
    }

    #[test]
    fn classifies_v6() {
        for (a, want) in [
            ("2606:4700::1111", AddrClass::Public),
            ("::", AddrClass::Unspecified),
            ("::1", AddrClass::Loopback),
            ("::ffff:127.0.0.1", AddrClass::EmbeddedV4),
            ("::ffff:1.1.1.1", AddrClass::EmbeddedV4),
            ("::127.0.0.1", AddrClass::EmbeddedV4),
            ("64:ff9b::a00:1", AddrClass::EmbeddedV4),
            ("2002:7f00:1::", AddrClass::EmbeddedV4),
            ("2001::1", AddrClass::EmbeddedV4),
            ("fe80::1", AddrClass::LinkLocal),
            ("fd00:ec2::254", AddrClass::Metadata),
            ("fd12::1", AddrClass::UniqueLocal),
            ("fc00::1", AddrClass::UniqueLocal),
            ("fec0::1", AddrClass::SiteLocal),
            ("ff02::1", AddrClass::Multicast),
            ("2001:db8::1", AddrClass::Reserved),
            ("100::1", AddrClass::Reserved),
            ("4000::1", AddrClass::Reserved),
        ] {
            assert_eq!(c(a), want, "{a}");
        }
        assert!(AddrClass::Public.allowed());
        assert!(!AddrClass::Loopback.allowed());
    }
}
