//! Which user owns the other end of a loopback TCP connection: how a Runtime API server tells
//! its own function's process from another function's (TCP carries no credentials, and runtime
//! clients need a plain `host:port`).
//!
//! The kernel's socket diagnostics (`NETLINK_SOCK_DIAG`) answer an exact lookup of one socket in
//! microseconds. `/proc/net/tcp` is the fallback where they are missing (no `inet_diag`): it
//! lists every socket of the network namespace and costs ~5 ms here, because reading it walks
//! the whole established-socket hash, whose size grows with the machine's memory. That was on
//! the critical path of every cold start of a function with a user of its own.

use std::fs;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;

use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketType, netlink};

/// `SOCK_DIAG_BY_FAMILY` (linux/sock_diag.h).
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `NLMSG_ERROR` (linux/netlink.h).
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 1;
const IPPROTO_TCP: u8 = 6;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
/// `nlmsghdr` is 16 bytes; `inet_diag_msg` puts `idiag_uid` 64 bytes into its payload.
const HEADER: usize = 16;
const UID_AT: usize = HEADER + 64;

/// The uid owning the client end of a loopback TCP connection accepted on `local` from `peer`:
/// the client's socket is the one whose local address is our peer and whose remote address is
/// us. `None` when there is no such socket (the client already went away).
pub(crate) fn tcp_peer_uid(local: SocketAddr, peer: SocketAddr) -> io::Result<Option<u32>> {
    if sock_diag_works() {
        return sock_diag_uid(local, peer);
    }
    proc_net_uid(local, peer)
}

/// How [`tcp_peer_uid`] looks sockets up on this host, for the startup log.
pub(crate) fn method() -> &'static str {
    if sock_diag_works() { "socket diagnostics (netlink)" } else { "/proc/net/tcp" }
}

/// Whether sock_diag finds our own loopback connection, checked once: where the `inet_diag`
/// module is missing, the kernel answers every lookup with ENOENT, which would read as "the
/// client went away" and refuse every runtime.
fn sock_diag_works() -> bool {
    static WORKS: OnceLock<bool> = OnceLock::new();
    *WORKS.get_or_init(|| {
        let probe = || -> io::Result<bool> {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            let local = listener.local_addr()?;
            let client = std::net::TcpStream::connect(local)?;
            let me = rustix::process::getuid().as_raw();
            Ok(sock_diag_uid(local, client.local_addr()?)? == Some(me))
        };
        match probe() {
            Ok(works) => works,
            Err(e) => {
                tracing::debug!(error = %e, "socket diagnostics unavailable");
                false
            }
        }
    })
}

/// One exact `SOCK_DIAG_BY_FAMILY` lookup (no dump): IPv4 first, then IPv6 (a dual-stack client
/// socket that connected to a mapped address).
fn sock_diag_uid(local: SocketAddr, peer: SocketAddr) -> io::Result<Option<u32>> {
    let fd = rustix::net::socket(AddressFamily::NETLINK, SocketType::DGRAM, Some(netlink::SOCK_DIAG))?;
    for family in [AF_INET, AF_INET6] {
        if family == AF_INET && (as_v4(peer.ip()).is_none() || as_v4(local.ip()).is_none()) {
            continue;
        }
        rustix::net::send(&fd, &diag_request(family, peer, local), SendFlags::empty())?;
        let mut reply = [0u8; 512];
        // The kernel answers while handling the send: the reply is queued already.
        let (len, _) = rustix::net::recv(&fd, &mut reply[..], RecvFlags::DONTWAIT)?;
        match parse_reply(&reply[..len]) {
            Reply::Uid(uid) => return Ok(Some(uid)),
            Reply::NotFound => continue,
            Reply::Error(errno) => return Err(io::Error::from_raw_os_error(errno)),
        }
    }
    Ok(None)
}

/// An `nlmsghdr` + `inet_diag_req_v2` asking for the TCP socket bound to `src` and connected
/// to `dst`. Header fields are in host order, ports and addresses in network order.
fn diag_request(family: u8, src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    let mut m = Vec::with_capacity(72);
    m.extend_from_slice(&72u32.to_ne_bytes()); // nlmsg_len
    m.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    m.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    m.extend_from_slice(&1u32.to_ne_bytes()); // nlmsg_seq
    m.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid: the kernel
    m.extend_from_slice(&[family, IPPROTO_TCP, 0, 0]); // family, protocol, ext, pad
    m.extend_from_slice(&u32::MAX.to_ne_bytes()); // idiag_states: any
    m.extend_from_slice(&src.port().to_be_bytes());
    m.extend_from_slice(&dst.port().to_be_bytes());
    for addr in [src.ip(), dst.ip()] {
        m.extend_from_slice(&diag_addr(family, addr));
    }
    m.extend_from_slice(&0u32.to_ne_bytes()); // idiag_if
    m.extend_from_slice(&[0xff; 8]); // INET_DIAG_NOCOOKIE
    m
}

/// A 16-byte `idiag_src`/`idiag_dst`: an IPv4 address in its first word, or an IPv6 one.
fn diag_addr(family: u8, addr: IpAddr) -> [u8; 16] {
    let mut out = [0u8; 16];
    match (family, as_v4(addr)) {
        (AF_INET, Some(v4)) => out[..4].copy_from_slice(&v4.octets()),
        _ => {
            let v6 = match addr {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            out = v6.octets();
        }
    }
    out
}

fn as_v4(addr: IpAddr) -> Option<std::net::Ipv4Addr> {
    match addr {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Reply {
    Uid(u32),
    NotFound,
    Error(i32),
}

fn parse_reply(reply: &[u8]) -> Reply {
    let word = |at: usize| -> Option<[u8; 4]> { reply.get(at..at + 4)?.try_into().ok() };
    let kind = reply.get(4..6).and_then(|b| b.try_into().ok()).map(u16::from_ne_bytes);
    match kind {
        Some(SOCK_DIAG_BY_FAMILY) => {
            word(UID_AT).map_or(Reply::Error(eproto()), |w| Reply::Uid(u32::from_ne_bytes(w)))
        }
        Some(NLMSG_ERROR) => match word(HEADER).map(i32::from_ne_bytes) {
            Some(e) if e == -rustix::io::Errno::NOENT.raw_os_error() => Reply::NotFound,
            Some(e) => Reply::Error(-e),
            None => Reply::Error(eproto()),
        },
        _ => Reply::Error(eproto()),
    }
}

fn eproto() -> i32 {
    rustix::io::Errno::PROTO.raw_os_error()
}

/// The `/proc/net/tcp{,6}` row of the client socket.
fn proc_net_uid(local: SocketAddr, peer: SocketAddr) -> io::Result<Option<u32>> {
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = match fs::read_to_string(table) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if let Some(uid) = socket_owner(&text, &proc_net_addr(peer), &proc_net_addr(local)) {
            return Ok(Some(uid));
        }
    }
    Ok(None)
}

/// `uid` of the row of a `/proc/net/tcp{,6}` table with these local and remote addresses.
fn socket_owner(table: &str, local: &[String; 2], remote: &[String; 2]) -> Option<u32> {
    table.lines().skip(1).find_map(|line| {
        let mut fields = line.split_whitespace();
        let (l, r) = (fields.nth(1)?, fields.next()?);
        let row = |want: &[String; 2], got: &str| want.iter().any(|w| w.eq_ignore_ascii_case(got));
        if !row(local, l) || !row(remote, r) {
            return None;
        }
        // st tx:rx tr:when retrnsmt uid
        fields.nth(4)?.parse().ok()
    })
}

/// An address as `/proc/net/tcp` prints it (the raw network-order words as host-order hex,
/// then the port), and as `tcp6` prints its IPv4-mapped form.
fn proc_net_addr(addr: SocketAddr) -> [String; 2] {
    let word = |b: [u8; 4]| format!("{:08X}", u32::from_ne_bytes(b));
    let v6 = match addr.ip() {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    };
    let o = v6.octets();
    let six: String = o.chunks_exact(4).map(|c| word([c[0], c[1], c[2], c[3]])).collect();
    let four = match addr.ip() {
        IpAddr::V4(v4) => word(v4.octets()),
        IpAddr::V6(_) => six.clone(),
    };
    [format!("{four}:{:04X}", addr.port()), format!("{six}:{:04X}", addr.port())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_of_a_loopback_client_socket_is_found_in_proc() {
        // Two rows of a real /proc/net/tcp: a listener on :2024, and a client 127.0.0.1:46685
        // (uid 990003) connected to 127.0.0.1:34714.
        let table =
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1599 1
   1: 0100007F:B65D 0100007F:879A 01 00000000:00000000 00:00000000 00000000 990003        0 8812 1
";
        let client: SocketAddr = "127.0.0.1:46685".parse().expect("addr");
        let server: SocketAddr = "127.0.0.1:34714".parse().expect("addr");
        if cfg!(target_endian = "little") {
            assert_eq!(proc_net_addr(client)[0], "0100007F:B65D");
        }
        assert_eq!(socket_owner(table, &proc_net_addr(client), &proc_net_addr(server)), Some(990_003));
        // The same socket seen from the other end is not the client's row.
        assert_eq!(socket_owner(table, &proc_net_addr(server), &proc_net_addr(client)), None);
        let other: SocketAddr = "127.0.0.1:46686".parse().expect("addr");
        assert_eq!(socket_owner(table, &proc_net_addr(other), &proc_net_addr(server)), None);
    }

    #[test]
    fn a_live_connection_is_owned_by_this_process_user_by_either_method() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let local = listener.local_addr().expect("addr");
        let client = std::net::TcpStream::connect(local).expect("connect");
        let (_server_end, peer) = listener.accept().expect("accept");
        assert_eq!(peer, client.local_addr().expect("addr"));
        let me = rustix::process::getuid().as_raw();
        assert_eq!(proc_net_uid(local, peer).expect("proc"), Some(me));
        assert_eq!(tcp_peer_uid(local, peer).expect("lookup"), Some(me));
        if sock_diag_works() {
            // The lookup is exact: the server's own end, or a port nobody uses, is not it.
            assert_eq!(sock_diag_uid(peer, local).expect("diag"), Some(me));
            let gone: SocketAddr = SocketAddr::new(peer.ip(), peer.port().wrapping_add(1));
            assert_eq!(sock_diag_uid(local, gone).expect("diag"), None);
        }
    }

    #[test]
    fn replies_are_read_by_kind() {
        let mut error = vec![0u8; 36];
        error[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        error[16..20].copy_from_slice(&(-2i32).to_ne_bytes());
        assert_eq!(parse_reply(&error), Reply::NotFound);
        error[16..20].copy_from_slice(&(-13i32).to_ne_bytes());
        assert_eq!(parse_reply(&error), Reply::Error(13));
        let mut found = vec![0u8; 88];
        found[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        found[UID_AT..UID_AT + 4].copy_from_slice(&990_007u32.to_ne_bytes());
        assert_eq!(parse_reply(&found), Reply::Uid(990_007));
        assert_eq!(parse_reply(&found[..40]), Reply::Error(eproto()));
        assert_eq!(parse_reply(&[]), Reply::Error(eproto()));
    }

    #[test]
    fn requests_have_the_kernels_layout() {
        let src: SocketAddr = "127.0.0.1:4660".parse().expect("addr");
        let dst: SocketAddr = "127.0.0.2:80".parse().expect("addr");
        let m = diag_request(AF_INET, src, dst);
        assert_eq!(m.len(), 72);
        assert_eq!(&m[16..18], &[AF_INET, IPPROTO_TCP]);
        assert_eq!(&m[24..28], &[0x12, 0x34, 0, 80]);
        assert_eq!(&m[28..32], &[127, 0, 0, 1]);
        assert_eq!(&m[44..48], &[127, 0, 0, 2]);
        assert_eq!(&m[64..72], &[0xff; 8]);
        let m6 = diag_request(AF_INET6, src, dst);
        assert_eq!(&m6[28..44], &std::net::Ipv4Addr::new(127, 0, 0, 1).to_ipv6_mapped().octets());
    }
}
