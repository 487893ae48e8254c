//! The host's UDP sockets: one per local address (each is a host ICE candidate), each read by a
//! task that forwards datagrams to the main loop; and the server-reflexive candidates learnt
//! from STUN servers (`--ice`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use str0m::Candidate;
use tokio::net::UdpSocket;
use tokio::sync::mpsc::UnboundedSender;

use crate::log;
use crate::rtc::Socket;
use peerjs_client::server::IceServer;

/// A received datagram: source, the socket's own address, the bytes.
pub type Datagram = (SocketAddr, SocketAddr, Vec<u8>);

/// The receive buffer asked of the kernel for each UDP socket (it grants at most
/// `net.core.rmem_max`). The readers run on the loop's one thread, so while the loop works off
/// a burst (1,000 signature checks) nothing empties the socket: at Linux's default of 208 KiB a
/// participant's burst overflowed it, the lost datagrams waited for SCTP's retransmission
/// timeout, and a drain took 2.3–2.5 s instead of 0.4 s (B10).
pub const RECEIVE_BUFFER_BYTES: usize = 4 << 20;

/// Asks the kernel for a [`RECEIVE_BUFFER_BYTES`] receive buffer on `socket`. A refusal, or a
/// smaller grant (capped by `net.core.rmem_max`), is logged: the socket works, with more loss
/// in bursts.
pub fn enlarge_receive_buffer(socket: &UdpSocket) {
    let sock = socket2::SockRef::from(socket);
    if let Err(error) = sock.set_recv_buffer_size(RECEIVE_BUFFER_BYTES) {
        log!(Warn, "net.buffer_refused", error = error);
        return;
    }
    // Linux reports twice what it grants (the doubled size includes its bookkeeping).
    match sock.recv_buffer_size() {
        Ok(granted) if granted < RECEIVE_BUFFER_BYTES => log!(
            Warn,
            "net.buffer_small",
            granted = granted,
            asked = RECEIVE_BUFFER_BYTES,
            hint = "raise net.core.rmem_max"
        ),
        Ok(_) => {}
        Err(error) => log!(Warn, "net.buffer_refused", error = error),
    }
}

/// Why no socket could be opened.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// Listing the interfaces failed.
    #[error("could not list the network interfaces: {0}")]
    Interfaces(#[source] std::io::Error),
    /// Binding failed.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// The addresses to listen on: the configured ones (an unspecified IP stands for every interface
/// address of its family), or every interface address. Link-local addresses are left out.
pub fn listen_addresses(configured: &[SocketAddr]) -> Result<Vec<SocketAddr>, NetError> {
    let wanted: Vec<SocketAddr> = if configured.is_empty() {
        vec![
            SocketAddr::new(IpAddr::from([0, 0, 0, 0]), 0),
            SocketAddr::new(IpAddr::from([0u16; 8]), 0),
        ]
    } else {
        configured.to_vec()
    };
    let mut out = Vec::new();
    for addr in wanted {
        if !addr.ip().is_unspecified() {
            out.push(addr);
            continue;
        }
        let interfaces = if_addrs::get_if_addrs().map_err(NetError::Interfaces)?;
        for interface in interfaces {
            let ip = interface.ip();
            if interface.is_link_local() || ip.is_ipv4() != addr.is_ipv4() {
                continue;
            }
            let candidate = SocketAddr::new(ip, addr.port());
            if !out.contains(&candidate) {
                out.push(candidate);
            }
        }
    }
    Ok(out)
}

/// Binds every address; one that fails is logged and skipped unless it was asked for by name.
pub async fn bind(addrs: &[SocketAddr], explicit: bool) -> Result<Vec<Socket>, NetError> {
    let mut sockets = Vec::new();
    for &addr in addrs {
        match UdpSocket::bind(addr).await {
            Ok(socket) => {
                enlarge_receive_buffer(&socket);
                let local = socket
                    .local_addr()
                    .map_err(|source| NetError::Bind { addr, source })?;
                log!(Info, "net.listen", addr = local);
                sockets.push(Socket {
                    socket: Arc::new(socket),
                    addr: local,
                });
            }
            Err(source) if explicit => return Err(NetError::Bind { addr, source }),
            Err(error) => log!(Warn, "net.listen_failed", addr = addr, error = error),
        }
    }
    Ok(sockets)
}

/// Asks each STUN server, from each IPv4 socket that is not loopback, for the public address
/// of that socket; each answer is a server-reflexive candidate. Servers that do not answer within
/// two seconds are logged and skipped. Must run before [`spawn_readers`] takes the sockets.
pub async fn reflexive_candidates(sockets: &[Socket], servers: &[IceServer]) -> Vec<Candidate> {
    let mut out = Vec::new();
    for address in servers.iter().flat_map(IceServer::stun_addresses) {
        let target = match tokio::net::lookup_host(address.as_str()).await {
            Ok(mut addrs) => addrs.find(SocketAddr::is_ipv4),
            Err(error) => {
                log!(Warn, "stun.resolve_failed", server = address, error = error);
                continue;
            }
        };
        let Some(target) = target else {
            continue;
        };
        for socket in sockets
            .iter()
            .filter(|s| s.addr.is_ipv4() && !s.addr.ip().is_loopback())
        {
            match stun_mapped(&socket.socket, target).await {
                Some(mapped) if mapped != socket.addr => {
                    match Candidate::server_reflexive(mapped, socket.addr, "udp") {
                        Ok(candidate) => {
                            log!(Info, "stun.mapped", local = socket.addr, public = mapped);
                            out.push(candidate);
                        }
                        Err(error) => {
                            log!(Warn, "stun.bad_address", public = mapped, error = error)
                        }
                    }
                }
                Some(_) => {}
                None => log!(
                    Warn,
                    "stun.no_answer",
                    server = address,
                    local = socket.addr
                ),
            }
        }
    }
    out
}

/// One STUN binding request (RFC 5389: type 0x0001, no attributes) and its mapped address.
async fn stun_mapped(socket: &UdpSocket, server: SocketAddr) -> Option<SocketAddr> {
    let mut transaction = [0u8; 12];
    getrandom::fill(&mut transaction).ok()?;
    let mut request = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42];
    request.extend_from_slice(&transaction);
    for _ in 0..3 {
        socket.send_to(&request, server).await.ok()?;
        let mut buf = [0u8; 1500];
        let answer =
            tokio::time::timeout(Duration::from_millis(700), socket.recv_from(&mut buf)).await;
        let Ok(Ok((n, from))) = answer else {
            continue;
        };
        if from != server {
            continue;
        }
        if let Some(mapped) = binding_success(&buf[..n], &transaction) {
            return Some(mapped);
        }
    }
    None
}

const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];

/// The mapped address of a STUN binding success response to `transaction` (RFC 5389:
/// XOR-MAPPED-ADDRESS, or the older MAPPED-ADDRESS), or `None` for anything else. Untrusted
/// bytes: every length is checked. (str0m's own parser is for ICE checks and requires
/// MESSAGE-INTEGRITY, which a STUN server's answer does not carry.)
pub fn binding_success(buf: &[u8], transaction: &[u8; 12]) -> Option<SocketAddr> {
    let header = buf.get(..20)?;
    if header[..2] != [0x01, 0x01] || header[4..8] != MAGIC_COOKIE || header[8..20] != *transaction
    {
        return None;
    }
    let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let mut attrs = buf.get(20..20 + length)?;
    let mut plain = None;
    while attrs.len() >= 4 {
        let kind = u16::from_be_bytes([attrs[0], attrs[1]]);
        let len = usize::from(u16::from_be_bytes([attrs[2], attrs[3]]));
        let value = attrs.get(4..4 + len)?;
        match kind {
            0x0020 => return address(value, Some(transaction)),
            0x0001 => plain = address(value, None),
            _ => {}
        }
        // Attributes are padded to 4 bytes.
        attrs = attrs.get((4 + len).div_ceil(4) * 4..).unwrap_or(&[]);
    }
    plain
}

/// A (XOR-)MAPPED-ADDRESS value; `xor` holds the transaction for the XOR form.
fn address(value: &[u8], xor: Option<&[u8; 12]>) -> Option<SocketAddr> {
    let family = *value.get(1)?;
    let mut port = u16::from_be_bytes([*value.get(2)?, *value.get(3)?]);
    let mut key = MAGIC_COOKIE.to_vec();
    if let Some(transaction) = xor {
        port ^= 0x2112;
        key.extend_from_slice(transaction);
    }
    let masked = |bytes: &[u8]| -> Vec<u8> {
        bytes
            .iter()
            .zip(key.iter().chain(std::iter::repeat(&0)))
            .map(|(b, k)| if xor.is_some() { b ^ k } else { *b })
            .collect()
    };
    match family {
        0x01 => {
            let ip: [u8; 4] = masked(value.get(4..8)?).try_into().ok()?;
            Some(SocketAddr::new(IpAddr::from(ip), port))
        }
        0x02 => {
            let ip: [u8; 16] = masked(value.get(4..20)?).try_into().ok()?;
            Some(SocketAddr::new(IpAddr::from(ip), port))
        }
        _ => None,
    }
}

/// Starts one task per socket forwarding each datagram to `tx`.
pub fn spawn_readers(sockets: &[Socket], tx: &UnboundedSender<Datagram>) {
    for socket in sockets {
        let (udp, local, tx) = (Arc::clone(&socket.socket), socket.addr, tx.clone());
        tokio::task::spawn_local(async move {
            let mut buf = vec![0u8; 2048];
            loop {
                match udp.recv_from(&mut buf).await {
                    Ok((n, source)) => {
                        if tx.send((source, local, buf[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                    // ICMP errors surface here on some systems; the socket keeps working.
                    Err(error) => {
                        log!(Info, "net.recv_error", addr = local, error = error);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binding success response (RFC 5389 §15.2: XOR-MAPPED-ADDRESS) for `request`, mapping
    /// to `mapped` (IPv4).
    fn success_for(request: &[u8], mapped: SocketAddr) -> Vec<u8> {
        let SocketAddr::V4(mapped) = mapped else {
            panic!("IPv4 only");
        };
        let mut out = vec![0x01, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xA4, 0x42];
        out.extend_from_slice(&request[8..20]);
        out.extend_from_slice(&[0x00, 0x20, 0x00, 0x08, 0x00, 0x01]);
        out.extend_from_slice(&(mapped.port() ^ 0x2112).to_be_bytes());
        let ip = u32::from(*mapped.ip()) ^ 0x2112_A442;
        out.extend_from_slice(&ip.to_be_bytes());
        out
    }

    /// The sockets [`bind`] opens get the receive buffer the kernel allows up to
    /// [`RECEIVE_BUFFER_BYTES`] (Linux doubles what it grants, capped by `rmem_max`).
    #[test]
    fn bound_sockets_get_the_large_receive_buffer() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
            let sockets = bind(&[addr], true).await.expect("bind");
            let got = socket2::SockRef::from(&*sockets[0].socket)
                .recv_buffer_size()
                .expect("read SO_RCVBUF");
            let Ok(max) = std::fs::read_to_string("/proc/sys/net/core/rmem_max") else {
                return; // not Linux: nothing to compare with
            };
            let max: usize = max.trim().parse().expect("rmem_max");
            assert_eq!(got, 2 * RECEIVE_BUFFER_BYTES.min(max));
        });
    }

    #[test]
    fn a_stun_server_tells_the_public_address_and_a_silent_one_nothing() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let client = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
            let server = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
            let server_addr = server.local_addr().expect("addr");
            let public: SocketAddr = "203.0.113.7:4242".parse().expect("addr");
            let responder = async {
                let mut buf = [0u8; 1500];
                let (n, from) = server.recv_from(&mut buf).await.expect("request");
                assert_eq!(&buf[..2], &[0x00, 0x01], "a binding request");
                assert_eq!(n, 20, "with no attributes");
                server
                    .send_to(&success_for(&buf[..n], public), from)
                    .await
                    .expect("answer");
            };
            let (mapped, ()) = tokio::join!(stun_mapped(&client, server_addr), responder);
            assert_eq!(mapped, Some(public));

            // Nobody answers: three tries, then nothing.
            let silent = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
            let silent_addr = silent.local_addr().expect("addr");
            assert_eq!(stun_mapped(&client, silent_addr).await, None);
        });
    }

    #[test]
    fn the_parser_reads_ipv6_and_plain_addresses_and_refuses_the_rest() {
        let tx = [7u8; 12];
        // XOR-MAPPED-ADDRESS, IPv6 [2001:db8::1]:3478.
        let ip: std::net::Ipv6Addr = "2001:db8::1".parse().expect("ip");
        let mut key = MAGIC_COOKIE.to_vec();
        key.extend_from_slice(&tx);
        let xored: Vec<u8> = ip.octets().iter().zip(&key).map(|(a, b)| a ^ b).collect();
        let mut msg = vec![0x01, 0x01, 0x00, 0x18, 0x21, 0x12, 0xA4, 0x42];
        msg.extend_from_slice(&tx);
        msg.extend_from_slice(&[0x00, 0x20, 0x00, 0x14, 0x00, 0x02]);
        msg.extend_from_slice(&(3478u16 ^ 0x2112).to_be_bytes());
        msg.extend_from_slice(&xored);
        let expected = SocketAddr::new(IpAddr::V6(ip), 3478);
        assert_eq!(binding_success(&msg, &tx), Some(expected));
        // Another transaction, a truncated message, a request: nothing.
        assert_eq!(binding_success(&msg, &[8u8; 12]), None);
        assert_eq!(binding_success(&msg[..30], &tx), None);
        let mut request = msg.clone();
        request[..2].copy_from_slice(&[0x00, 0x01]);
        assert_eq!(binding_success(&request, &tx), None);
        // Plain MAPPED-ADDRESS after an unknown, padded attribute.
        let mut plain = vec![0x01, 0x01, 0x00, 0x14, 0x21, 0x12, 0xA4, 0x42];
        plain.extend_from_slice(&tx);
        plain.extend_from_slice(&[0x80, 0x22, 0x00, 0x01, b'x', 0, 0, 0]);
        plain.extend_from_slice(&[
            0x00, 0x01, 0x00, 0x08, 0x00, 0x01, 0x10, 0x00, 198, 51, 100, 2,
        ]);
        let expected: SocketAddr = "198.51.100.2:4096".parse().expect("addr");
        assert_eq!(binding_success(&plain, &tx), Some(expected));
    }

    proptest::proptest! {
        /// Untrusted bytes: any datagram is read without panicking, and only a success response
        /// to our transaction yields an address.
        #[test]
        fn any_datagram_is_read_safely(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let tx = [3u8; 12];
            if let Some(_addr) = binding_success(&bytes, &tx) {
                proptest::prop_assert_eq!(&bytes[..2], &[0x01, 0x01]);
                proptest::prop_assert_eq!(&bytes[8..20], &tx);
            }
        }
    }

    #[test]
    fn explicit_addresses_are_kept_and_unspecified_ones_expand_to_interfaces() {
        let explicit: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
        assert_eq!(
            listen_addresses(&[explicit]).expect("listed"),
            vec![explicit]
        );
        let any: SocketAddr = "0.0.0.0:0".parse().expect("addr");
        let expanded = listen_addresses(&[any]).expect("listed");
        assert!(expanded
            .iter()
            .all(|a| a.is_ipv4() && !a.ip().is_unspecified()));
        assert!(expanded.iter().any(|a| a.ip().is_loopback()));
    }
}
