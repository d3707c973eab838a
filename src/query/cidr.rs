//! `ip:` values that name a set of addresses rather than one: CIDR blocks
//! (`ip:10.0.0.0/8`, `ip:2001:db8::/32`) and classes (`ip:private`, `ip:loopback`,
//! `ip:linklocal`, `ip:public`). Each becomes ranges over the IPv6 space, where an IPv4
//! address is its IPv4-mapped form (`::ffff:a.b.c.d`), as the index keeps it.

use std::net::IpAddr;

/// An inclusive range of addresses, as IPv6 numbers.
pub type Range = (u128, u128);

/// The IPv6 number of an address (IPv4 mapped), as the index keeps it.
pub fn number(ip: IpAddr) -> u128 {
    u128::from(crate::model::ip_as_v6(ip))
}

/// The ranges `value` names, or None when it is not a block or a class (then it is an
/// address, matched as written).
pub fn ranges(value: &str) -> Option<Vec<Range>> {
    match value.to_ascii_lowercase().as_str() {
        "private" => return Some(class(PRIVATE)),
        "loopback" => return Some(class(LOOPBACK)),
        "linklocal" => return Some(class(LINK_LOCAL)),
        "public" => return Some(public()),
        _ => {}
    }
    block(value).map(|r| vec![r])
}

/// Private use: RFC 1918, shared address space (100.64.0.0/10), unique local (fc00::/7).
const PRIVATE: &[&str] = &[
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
];
const LOOPBACK: &[&str] = &["127.0.0.0/8", "::1/128"];
const LINK_LOCAL: &[&str] = &["169.254.0.0/16", "fe80::/10"];
const UNSPECIFIED: &[&str] = &["0.0.0.0/32", "::/128"];

fn class(blocks: &[&str]) -> Vec<Range> {
    blocks
        .iter()
        .map(|b| block(b).expect("the class tables are valid blocks"))
        .collect()
}

/// Everything that is not private, loopback, link-local or unspecified. Documentation
/// ranges (203.0.113.0/24, 2001:db8::/32) count as public: in examples they stand for
/// public addresses.
fn public() -> Vec<Range> {
    let mut taken: Vec<Range> = [PRIVATE, LOOPBACK, LINK_LOCAL, UNSPECIFIED]
        .iter()
        .flat_map(|c| class(c))
        .collect();
    taken.sort_unstable();
    let mut free = Vec::new();
    let mut next = 0u128;
    let mut done = false;
    for (lo, hi) in taken {
        if lo > next {
            free.push((next, lo - 1));
        }
        match hi.checked_add(1) {
            Some(after) => next = next.max(after),
            None => done = true,
        }
    }
    if !done {
        free.push((next, u128::MAX));
    }
    free
}

/// `ADDRESS/PREFIX`: the block's first and last address.
fn block(value: &str) -> Option<Range> {
    let (addr, prefix) = value.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let prefix: u32 = prefix.parse().ok()?;
    let bits = match addr {
        IpAddr::V4(_) if prefix <= 32 => 96 + prefix,
        IpAddr::V6(_) if prefix <= 128 => prefix,
        _ => return None,
    };
    let host = u128::MAX.checked_shr(bits).unwrap_or(0);
    let base = number(addr) & !host;
    Some((base, base | host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within(value: &str, ip: &str) -> bool {
        let n = number(ip.parse().unwrap());
        ranges(value)
            .unwrap()
            .iter()
            .any(|&(lo, hi)| lo <= n && n <= hi)
    }

    #[test]
    fn blocks() {
        assert!(within("10.0.0.0/8", "10.255.1.2"));
        assert!(!within("10.0.0.0/8", "11.0.0.0"));
        assert!(within("10.1.2.3/32", "10.1.2.3"));
        assert!(within("0.0.0.0/0", "8.8.8.8"));
        assert!(
            !within("0.0.0.0/0", "2001:db8::1"),
            "IPv4 blocks hold IPv4 only"
        );
        assert!(within("2001:db8::/32", "2001:db8:ffff::1"));
        assert!(!within("2001:db8::/32", "2001:db9::1"));
        assert!(within("::/0", "2001:db8::1"));
        assert!(within("172.16.0.0/12", "172.31.255.255"));
        for not_a_block in [
            "10.0.0.0/33",
            "2001:db8::/129",
            "10.0.0/8",
            "x/8",
            "10.0.0.1",
        ] {
            assert_eq!(ranges(not_a_block), None, "{not_a_block}");
        }
    }

    #[test]
    fn classes() {
        for ip in [
            "10.1.2.3",
            "172.20.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "fd00::1",
        ] {
            assert!(within("private", ip), "{ip}");
            assert!(!within("public", ip), "{ip}");
        }
        for ip in ["127.0.0.1", "127.9.9.9", "::1"] {
            assert!(within("loopback", ip) && !within("public", ip), "{ip}");
        }
        for ip in ["169.254.169.254", "fe80::1"] {
            assert!(within("linklocal", ip) && !within("public", ip), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "203.0.113.9",
            "198.51.100.7",
            "2001:db8::1",
            "172.32.0.1",
        ] {
            assert!(within("public", ip) && !within("private", ip), "{ip}");
        }
        for ip in ["0.0.0.0", "::"] {
            assert!(!within("public", ip), "unspecified {ip}");
        }
        assert!(within("PRIVATE", "10.0.0.1"), "class names ignore case");
    }
}
