//! The host's UDP sockets: one per local address (each is a host ICE candidate), each read by a
//! task that forwards datagrams to the main loop; and the server-reflexive candidates learnt
//! from STUN servers (`--ice`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use str0m::ice::StunMessage;
use str0m::Candidate;
use tokio::net::UdpSocket;
use tokio::sync::mpsc::UnboundedSender;

use crate::config::StunServer;
use crate::log;
use crate::rtc::Socket;

/// A received datagram: source, the socket's own address, the bytes.
pub type Datagram = (SocketAddr, SocketAddr, Vec<u8>);

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
pub async fn reflexive_candidates(sockets: &[Socket], servers: &[StunServer]) -> Vec<Candidate> {
    let mut out = Vec::new();
    for server in servers {
        let target = match tokio::net::lookup_host(server.address.as_str()).await {
            Ok(mut addrs) => addrs.find(SocketAddr::is_ipv4),
            Err(error) => {
                log!(
                    Warn,
                    "stun.resolve_failed",
                    server = server.address,
                    error = error
                );
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
                    server = server.address,
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
        if from != server || n < 20 || buf[8..20] != transaction {
            continue;
        }
        let message = StunMessage::parse(&buf[..n]).ok()?;
        if message.is_successful_binding_response() {
            return message.mapped_address();
        }
    }
    None
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
