//! The transport against a second, independent str0m peer playing the PeerJS dialer, over real
//! loopback UDP sockets: offer/answer, DTLS, SCTP, the data channel, BinaryPack framing with
//! chunking in both directions, and PeerJS's close message.

use std::net::UdpSocket as StdUdpSocket;

use super::*;
use peerjs_client::binarypack::Value;
use str0m::change::SdpAnswer;

/// A hub frame larger than one PeerJS chunk (16,300 bytes), so it is split and reassembled.
fn big_text() -> String {
    "0123456789abcdef".repeat(3_000)
}

struct Dialer {
    rtc: Rtc,
    socket: StdUdpSocket,
    addr: SocketAddr,
    codec: DataCodec,
    channel: Option<ChannelId>,
    received: Vec<Data>,
}

impl Dialer {
    fn drain(&mut self) {
        loop {
            match self.rtc.poll_output().expect("dialer output") {
                Output::Timeout(_) => break,
                Output::Transmit(t) => {
                    self.socket
                        .send_to(&t.contents, t.destination)
                        .expect("dialer send");
                }
                Output::Event(RtcEvent::ChannelOpen(id, _)) => self.channel = Some(id),
                Output::Event(RtcEvent::ChannelData(data)) => {
                    let frame = Frame::Bytes(data.data);
                    if let Ok(Incoming::Message(message)) = self.codec.decode(frame) {
                        self.received.push(message);
                    }
                }
                Output::Event(_) => {}
            }
        }
    }

    fn read(&mut self) {
        let mut buf = vec![0u8; 2048];
        while let Ok((n, source)) = self.socket.recv_from(&mut buf) {
            let input = Input::Receive(
                Instant::now(),
                Receive {
                    proto: Protocol::Udp,
                    source,
                    destination: self.addr,
                    contents: buf[..n].try_into().expect("datagram"),
                },
            );
            self.rtc.handle_input(input).expect("dialer input");
            self.drain();
        }
        self.rtc
            .handle_input(Input::Timeout(Instant::now()))
            .expect("dialer timeout");
        self.drain();
    }

    fn send(&mut self, data: &Data) {
        let id = self.channel.expect("open");
        for frame in self.codec.encode(data).expect("encode") {
            let Frame::Bytes(bytes) = frame else {
                panic!("binary serialization sends bytes");
            };
            let written = self
                .rtc
                .channel(id)
                .expect("channel")
                .write(true, &bytes)
                .expect("write");
            assert!(written);
            self.drain();
        }
    }
}

/// Runs a test body on a single-threaded tokio runtime (with timers and I/O).
fn on_tokio(body: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(body);
}

/// Hands `transport` every datagram waiting on its `socket`, then fires its timer if due.
fn feed(
    transport: &mut Transport,
    socket: &Arc<UdpSocket>,
    buf: &mut [u8],
    events: &mut Vec<Event>,
) {
    let local = socket.local_addr().expect("addr");
    while let Ok((n, source)) = socket.try_recv_from(buf) {
        transport.receive(source, local, &buf[..n], Instant::now(), events);
    }
    if transport
        .poll_timeout()
        .is_some_and(|at| at <= Instant::now())
    {
        transport.handle_timeout(Instant::now(), events);
    }
}

/// Pumps packets both ways until `done` says so (or 10 s pass).
async fn pump(
    transport: &mut Transport,
    host: &Arc<UdpSocket>,
    dialer: &mut Dialer,
    events: &mut Vec<Event>,
    mut done: impl FnMut(&Dialer, &[Event]) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = vec![0u8; 2048];
    while !done(dialer, events) {
        assert!(
            Instant::now() < deadline,
            "timed out; events so far: {events:?}"
        );
        dialer.read();
        feed(transport, host, &mut buf, events);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[test]
fn a_str0m_dialer_opens_a_peerjs_binary_channel_and_messages_flow_both_ways() {
    on_tokio(async {
        let host = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
        let host_addr = host.local_addr().expect("addr");
        let mut transport = Transport::new(
            vec![Socket {
                socket: Arc::clone(&host),
                addr: host_addr,
            }],
            Vec::new(),
            10,
        );

        let socket = StdUdpSocket::bind("127.0.0.1:0").expect("bind");
        socket.set_nonblocking(true).expect("nonblocking");
        let addr = socket.local_addr().expect("addr");
        let mut rtc = Rtc::builder().build(Instant::now());
        rtc.add_local_candidate(Candidate::host(addr, "udp").expect("candidate"));
        let mut change = rtc.sdp_api();
        change.add_channel("dc_test1".into());
        let (offer, pending) = change.apply().expect("an offer");
        let mut dialer = Dialer {
            rtc,
            socket,
            addr,
            codec: DataCodec::new(Serialization::Binary),
            channel: None,
            received: Vec::new(),
        };

        let mut events = Vec::new();
        let payload = OfferPayload::new(
            ConnectionId::new("dc_test1"),
            offer.to_sdp_string(),
            Serialization::Binary,
            None,
        );
        let answered = transport
            .answer(
                PeerName::new("dialer"),
                payload,
                Instant::now(),
                &mut events,
            )
            .expect("answered");
        assert_eq!(
            answered.candidates.len(),
            1,
            "the host candidate is trickled"
        );
        assert!(answered.candidates[0]
            .candidate
            .candidate
            .contains(&host_addr.port().to_string()));
        let answer = SdpAnswer::from_sdp_string(&answered.answer.sdp).expect("answer sdp");
        dialer
            .rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .expect("accepted");
        dialer.drain();

        pump(
            &mut transport,
            &host,
            &mut dialer,
            &mut events,
            |d, events| {
                d.channel.is_some() && events.iter().any(|e| matches!(e, Event::Opened { .. }))
            },
        )
        .await;
        let conn = answered.conn;
        assert!(matches!(&events[0], Event::Opened { peer, .. } if peer == "dialer"));
        events.clear();

        // Dialer → host: a short and a chunked message.
        dialer.send(&Data::Text("hello".into()));
        dialer.send(&Data::Text(big_text()));
        pump(
            &mut transport,
            &host,
            &mut dialer,
            &mut events,
            |_, events| events.len() >= 2,
        )
        .await;
        assert_eq!(
            events[0],
            Event::Message(conn, Data::Packed(Value::Str("hello".into())))
        );
        assert_eq!(
            events[1],
            Event::Message(conn, Data::Packed(Value::Str(big_text())))
        );
        events.clear();

        // Host → dialer, in order, chunked as PeerJS does.
        transport.send(conn, "first", Instant::now(), &mut events);
        transport.send(conn, &big_text(), Instant::now(), &mut events);
        pump(&mut transport, &host, &mut dialer, &mut events, |d, _| {
            d.received.len() >= 2
        })
        .await;
        assert_eq!(dialer.received[0], Data::Packed(Value::Str("first".into())));
        assert_eq!(dialer.received[1], Data::Packed(Value::Str(big_text())));

        // PeerJS's close message ends the connection once.
        dialer.send(&Data::Packed(Value::Map(vec![(
            Value::Str("__peerData".into()),
            Value::Map(vec![(
                Value::Str("type".into()),
                Value::Str("close".into()),
            )]),
        )])));
        pump(
            &mut transport,
            &host,
            &mut dialer,
            &mut events,
            |_, events| events.iter().any(|e| matches!(e, Event::Closed { .. })),
        )
        .await;
        let closed: Vec<&Event> = events
            .iter()
            .filter(|e| matches!(e, Event::Closed { .. }))
            .collect();
        assert_eq!(closed.len(), 1);
        assert!(matches!(closed[0], Event::Closed { conn: c, opened: true, .. } if *c == conn));
        assert_eq!(transport.count(), 0);
    });
}

#[test]
fn an_offer_that_is_not_binary_or_not_sdp_is_refused() {
    on_tokio(async {
        let host = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
        let addr = host.local_addr().expect("addr");
        let mut transport = Transport::new(vec![Socket { socket: host, addr }], Vec::new(), 10);
        let mut events = Vec::new();
        let json = OfferPayload::new(ConnectionId::new("dc_a"), "v=0", Serialization::Json, None);
        let refused = transport.answer(PeerName::new("x"), json, Instant::now(), &mut events);
        assert!(matches!(refused, Err(OfferError::Serialization("json"))));
        let garbage = OfferPayload::new(
            ConnectionId::new("dc_b"),
            "not sdp",
            Serialization::Binary,
            None,
        );
        let refused = transport.answer(PeerName::new("x"), garbage, Instant::now(), &mut events);
        assert!(matches!(refused, Err(OfferError::Sdp(_))));
        assert_eq!(transport.count(), 0);
        assert!(events.is_empty());
    });
}

/// A real offer SDP (from a throwaway str0m peer) for connection `id`.
fn offer(id: &str) -> OfferPayload {
    let mut rtc = Rtc::builder().build(Instant::now());
    let addr: SocketAddr = "127.0.0.1:9".parse().expect("addr");
    rtc.add_local_candidate(Candidate::host(addr, "udp").expect("candidate"));
    let mut change = rtc.sdp_api();
    change.add_channel(id.into());
    let (sdp, _) = change.apply().expect("an offer");
    OfferPayload::new(
        ConnectionId::new(id),
        sdp.to_sdp_string(),
        Serialization::Binary,
        None,
    )
}

#[test]
fn offers_beyond_the_connection_limit_or_the_per_peer_pending_limit_are_refused() {
    on_tokio(async {
        let host = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
        let addr = host.local_addr().expect("addr");
        let socket = || Socket {
            socket: Arc::clone(&host),
            addr,
        };
        let mut events = Vec::new();
        let now = Instant::now();

        let mut small = Transport::new(vec![socket()], Vec::new(), 2);
        for (n, peer) in ["a", "b"].into_iter().enumerate() {
            let id = format!("dc_{n}");
            small
                .answer(PeerName::new(peer), offer(&id), now, &mut events)
                .expect("within the limit");
        }
        let full = small.answer(PeerName::new("c"), offer("dc_9"), now, &mut events);
        assert!(matches!(full, Err(OfferError::Full(2))));

        let mut transport = Transport::new(vec![socket()], Vec::new(), 100);
        for n in 0..MAX_PENDING_PER_PEER {
            let id = format!("dc_p{n}");
            transport
                .answer(PeerName::new("eager"), offer(&id), now, &mut events)
                .expect("within the per-peer limit");
        }
        let refused = transport.answer(PeerName::new("eager"), offer("dc_px"), now, &mut events);
        assert!(matches!(refused, Err(OfferError::TooManyPending)));
        transport
            .answer(PeerName::new("other"), offer("dc_o"), now, &mut events)
            .expect("another peer is not affected");

        // Offers that never open are dropped after the open timeout, reported once each.
        transport.handle_timeout(now + OPEN_TIMEOUT + Duration::from_secs(1), &mut events);
        assert_eq!(transport.count(), 0);
        let closed = events
            .iter()
            .filter(|e| matches!(e, Event::Closed { opened: false, .. }))
            .count();
        assert_eq!(closed, MAX_PENDING_PER_PEER + 1);
    });
}

/// Two transports on loopback: one dials, the other answers, both pumped until `done`.
async fn pump_pair(
    a: (&mut Transport, &Arc<UdpSocket>, &mut Vec<Event>),
    b: (&mut Transport, &Arc<UdpSocket>, &mut Vec<Event>),
    mut done: impl FnMut(&[Event], &[Event]) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = vec![0u8; 2048];
    let (ta, sa, ea) = a;
    let (tb, sb, eb) = b;
    while !done(ea, eb) {
        assert!(Instant::now() < deadline, "timed out: {ea:?} / {eb:?}");
        feed(ta, sa, &mut buf, ea);
        feed(tb, sb, &mut buf, eb);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[test]
fn one_transport_dials_another_and_they_talk_with_liveness_pings() {
    on_tokio(async {
        let transport = |socket: &Arc<UdpSocket>| {
            let addr = socket.local_addr().expect("addr");
            Transport::new(
                vec![Socket {
                    socket: Arc::clone(socket),
                    addr,
                }],
                Vec::new(),
                10,
            )
        };
        let host_socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
        let client_socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
        let (mut host, mut client) = (transport(&host_socket), transport(&client_socket));
        let (mut host_events, mut client_events) = (Vec::new(), Vec::new());

        let now = Instant::now();
        let (dialed, offer, candidates) = client
            .dial(
                PeerName::new("host"),
                ConnectionId::new("dc_load1"),
                now,
                &mut client_events,
            )
            .expect("dial");
        assert_eq!(offer.label, "dc_load1");
        assert!(offer.reliable && offer.serialization == Serialization::Binary);
        assert!(offer.metadata.is_some(), "liveness is advertised");
        let answered = host
            .answer(PeerName::new("client"), offer, now, &mut host_events)
            .expect("answer");
        client.remote_answer(&answered.answer, now, &mut client_events);
        // Trickled candidates both ways (duplicates of the SDP's are harmless).
        for candidate in &candidates {
            host.remote_candidate(&candidate.connection_id, candidate, now, &mut host_events);
        }
        for candidate in &answered.candidates {
            client.remote_candidate(&candidate.connection_id, candidate, now, &mut client_events);
        }
        pump_pair(
            (&mut client, &client_socket, &mut client_events),
            (&mut host, &host_socket, &mut host_events),
            |c, h| {
                c.iter().any(|e| matches!(e, Event::Opened { .. }))
                    && h.iter().any(|e| matches!(e, Event::Opened { .. }))
            },
        )
        .await;
        host_events.clear();
        client_events.clear();

        client.send(
            dialed,
            "poll:list please",
            Instant::now(),
            &mut client_events,
        );
        host.send(answered.conn, &big_text(), Instant::now(), &mut host_events);
        pump_pair(
            (&mut client, &client_socket, &mut client_events),
            (&mut host, &host_socket, &mut host_events),
            |c, h| !c.is_empty() && !h.is_empty(),
        )
        .await;
        let said = Data::Packed(Value::Str("poll:list please".into()));
        assert_eq!(host_events, vec![Event::Message(answered.conn, said)]);
        let big = Data::Packed(Value::Str(big_text()));
        assert_eq!(client_events, vec![Event::Message(dialed, big)]);

        // Both stay up past the liveness deadline: the answerer pings at once (the dialer
        // advertised it), the dialer answers once pinged, and no ping reaches the hub.
        host_events.clear();
        client_events.clear();
        let until = Instant::now()
            + Duration::from_millis(Liveness::DEAD_AFTER_MS + Liveness::PING_INTERVAL_MS);
        pump_pair(
            (&mut client, &client_socket, &mut client_events),
            (&mut host, &host_socket, &mut host_events),
            |_, _| Instant::now() >= until,
        )
        .await;
        assert!(
            host_events.is_empty() && client_events.is_empty(),
            "{host_events:?} {client_events:?}"
        );

        // The client closes: the host hears PeerJS's close message.
        client.close(dialed, Instant::now(), &mut client_events);
        pump_pair(
            (&mut client, &client_socket, &mut client_events),
            (&mut host, &host_socket, &mut host_events),
            |_, h| h.iter().any(|e| matches!(e, Event::Closed { .. })),
        )
        .await;
        assert_eq!(host.count(), 0);
        assert_eq!(client.count(), 0);
    });
}
