use super::*;

fn form(host: &str, port: &str, path: &str, key: &str) -> ServerForm {
    ServerForm {
        host: host.into(),
        port: port.into(),
        path: path.into(),
        key: key.into(),
        secure: false,
    }
}

fn server_error(f: ServerForm, field: Field) -> Option<SettingsError> {
    f.parse().err().and_then(|p| p.get(field).cloned())
}

fn ice(urls: &str, username: &str, credential: &str) -> IceServerForm {
    IceServerForm {
        urls: urls.into(),
        username: username.into(),
        credential: credential.into(),
    }
}

fn ice_errors(f: &IceServerForm) -> Vec<(Field, SettingsError)> {
    match f.parse(0) {
        Ok(_) => Vec::new(),
        Err(p) => p.iter().map(|p| (p.field, p.error.clone())).collect(),
    }
}

#[test]
fn a_valid_server_form_parses_and_normalises() {
    let server = form(" peer.example.org ", " 9443 ", "/myapp", " k-1 ")
        .parse()
        .unwrap();
    assert_eq!(
        server,
        ServerConfig {
            host: "peer.example.org".into(),
            port: 9443,
            path: "/myapp/".into(),
            key: "k-1".into(),
            secure: false,
        }
    );
    assert_eq!(form("h", "1", "/", "peerjs").parse().unwrap().path, "/");
    assert!(form("[::1]", "9000", "/", "peerjs").parse().is_ok());
    assert!(form("10.0.0.7", "65535", "/a/b/", "peerjs").parse().is_ok());
}

#[test]
fn the_form_round_trips_a_config() {
    for config in [ServerConfig::local(), ServerConfig::public_cloud()] {
        assert_eq!(ServerForm::from_config(&config).parse().unwrap(), config);
    }
}

#[test]
fn host_rules() {
    let host = |h: &str| server_error(form(h, "9000", "/", "peerjs"), Field::Host);
    assert_eq!(host(""), Some(SettingsError::HostEmpty));
    assert_eq!(host("   "), Some(SettingsError::HostEmpty));
    assert_eq!(host("ws://x"), Some(SettingsError::HostNotBare));
    assert_eq!(host("x:9000"), Some(SettingsError::HostNotBare));
    assert_eq!(host("x/peer"), Some(SettingsError::HostNotBare));
    assert_eq!(host("a b"), Some(SettingsError::HostInvalid));
    assert_eq!(host("é.org"), Some(SettingsError::HostInvalid));
    assert_eq!(host(".x"), Some(SettingsError::HostInvalid));
    assert_eq!(host("x-"), Some(SettingsError::HostInvalid));
    assert_eq!(host("[zz]"), Some(SettingsError::HostInvalid));
    assert_eq!(host("localhost"), None);
}

#[test]
fn port_rules() {
    let port = |p: &str| server_error(form("h", p, "/", "peerjs"), Field::Port);
    for bad in ["", "0", "65536", "99999", "-1", "+80", "80a", "8 0", "1e3"] {
        assert_eq!(port(bad), Some(SettingsError::PortInvalid), "{bad:?}");
    }
    for good in ["1", "80", "65535", " 9000 "] {
        assert_eq!(port(good), None, "{good:?}");
    }
}

#[test]
fn path_rules() {
    let path = |p: &str| server_error(form("h", "1", p, "peerjs"), Field::Path);
    assert_eq!(path(""), Some(SettingsError::PathNoSlash));
    assert_eq!(path("myapp"), Some(SettingsError::PathNoSlash));
    assert_eq!(path("/a b"), Some(SettingsError::PathInvalid));
    assert_eq!(path("/a?x"), Some(SettingsError::PathInvalid));
    assert_eq!(path("/a#x"), Some(SettingsError::PathInvalid));
    assert_eq!(path("/a\\b"), Some(SettingsError::PathInvalid));
    assert_eq!(path("/"), None);
}

#[test]
fn key_rules() {
    let key = |k: &str| server_error(form("h", "1", "/", k), Field::Key);
    assert_eq!(key(""), Some(SettingsError::KeyEmpty));
    assert_eq!(key(" "), Some(SettingsError::KeyEmpty));
    assert_eq!(key("a&b"), Some(SettingsError::KeyInvalid));
    assert_eq!(key("a b"), Some(SettingsError::KeyInvalid));
    assert_eq!(key("Key_1.2~x-y"), None);
}

#[test]
fn every_bad_field_is_reported_once() {
    let problems = form("", "0", "x", "").parse().unwrap_err();
    let fields: Vec<Field> = problems.iter().map(|p| p.field).collect();
    assert_eq!(fields, [Field::Host, Field::Port, Field::Path, Field::Key]);
}

#[test]
fn messages_name_the_rule() {
    assert_eq!(
        SettingsError::PortInvalid.to_string(),
        "The port must be a whole number from 1 to 65535."
    );
    assert_eq!(
        SettingsError::PathNoSlash.to_string(),
        "The path must start with /."
    );
    assert!(SettingsError::IceCredentialMissing
        .to_string()
        .contains("credential"));
    assert_eq!(Field::IceCredential(2).to_string(), "ice-credential-2");
    assert_eq!(Field::IceUrls(0).to_string(), "ice-url-0");
    assert_eq!(Field::Host.to_string(), "host");
}

#[test]
fn ice_urls() {
    let ok = |u: &str| assert_eq!(ice_errors(&ice(u, "u", "c")), [], "{u}");
    ok("stun:stun.example.org");
    ok("stun:stun.example.org:3478");
    ok("STUN:10.0.0.1:3478");
    ok("turn:turn.example.org:3478?transport=udp");
    ok("turns:turn.example.org:5349?transport=tcp");
    ok("turn:[2001:db8::1]:3478");
    ok("stun:[::1]");
    ok("stun:a.org, turn:b.org  turns:c.org:443");
    let bad = |u: &str, e: SettingsError| {
        assert_eq!(
            ice_errors(&ice(u, "u", "c")),
            [(Field::IceUrls(0), e)],
            "{u}"
        )
    };
    bad("", SettingsError::IceNoUrl);
    bad(" , ", SettingsError::IceNoUrl);
    bad("http://x", SettingsError::IceBadScheme("http://x".into()));
    bad(
        "stun.example.org",
        SettingsError::IceBadScheme("stun.example.org".into()),
    );
    bad("stun:", SettingsError::IceBadHost("stun:".into()));
    bad(
        "stun://x.org",
        SettingsError::IceBadHost("stun://x.org".into()),
    );
    bad(
        "turn:x.org:0",
        SettingsError::IceBadPort("turn:x.org:0".into()),
    );
    bad(
        "turn:x.org:70000",
        SettingsError::IceBadPort("turn:x.org:70000".into()),
    );
    bad(
        "stun:x.org:",
        SettingsError::IceBadPort("stun:x.org:".into()),
    );
    bad(
        "stun:x.org?transport=udp",
        SettingsError::IceBadQuery("stun:x.org?transport=udp".into()),
    );
    bad(
        "turn:x.org?transport=sctp",
        SettingsError::IceBadQuery("turn:x.org?transport=sctp".into()),
    );
    // The first bad URL of an entry is the one reported.
    bad(
        "stun:a.org ftp:b",
        SettingsError::IceBadScheme("ftp:b".into()),
    );
}

#[test]
fn turn_needs_a_username_and_a_credential() {
    assert_eq!(
        ice_errors(&ice("turn:t.org", "", "")),
        [
            (Field::IceUsername(0), SettingsError::IceUsernameMissing),
            (Field::IceCredential(0), SettingsError::IceCredentialMissing),
        ]
    );
    assert_eq!(
        ice_errors(&ice("turns:t.org", "me", "")),
        [(Field::IceCredential(0), SettingsError::IceCredentialMissing)]
    );
    assert_eq!(
        ice_errors(&ice("stun:s.org turn:t.org", "", "pw")),
        [(Field::IceUsername(0), SettingsError::IceUsernameMissing)]
    );
    let server = ice("turn:t.org", "me", "pw").parse(0).unwrap();
    assert_eq!(
        (server.urls(), server.username(), server.credential()),
        (&["turn:t.org".to_owned()][..], Some("me"), Some("pw"))
    );
}

#[test]
fn stun_needs_no_credentials_but_they_go_together() {
    let server = ice("stun:s.org", "", "").parse(0).unwrap();
    assert_eq!((server.username(), server.credential()), (None, None));
    assert_eq!(
        ice_errors(&ice("stun:s.org", "me", "")),
        [(Field::IceCredential(0), SettingsError::IceCredentialMissing)]
    );
    assert_eq!(
        ice_errors(&ice("stun:s.org", "", "pw")),
        [(Field::IceUsername(0), SettingsError::IceUsernameMissing)]
    );
}

#[test]
fn ice_problems_name_their_row() {
    let form = SettingsForm {
        server: ServerForm::from_config(&ServerConfig::local()),
        ice_servers: Some(vec![ice("stun:ok.org", "", ""), ice("turn:t.org", "u", "")]),
    };
    let problems = form.parse(&ServerConfig::local()).unwrap_err();
    let found: Vec<(Field, SettingsError)> = problems
        .iter()
        .map(|p| (p.field, p.error.clone()))
        .collect();
    assert_eq!(
        found,
        [(Field::IceCredential(1), SettingsError::IceCredentialMissing)]
    );
    assert_eq!(
        problems.get(Field::IceCredential(1)),
        Some(&SettingsError::IceCredentialMissing)
    );
    assert_eq!(problems.get(Field::IceCredential(0)), None);
}

#[test]
fn the_settings_form_saves_defaults_as_none() {
    let local = ServerConfig::local();
    let form = SettingsForm::new(&Settings::default(), &local);
    assert_eq!(form.server, ServerForm::from_config(&local));
    assert_eq!(form.ice_servers, None);
    assert_eq!(form.parse(&local), Ok(Settings::default()));

    let mut edited = form.clone();
    edited.server.port = "9312".into();
    edited.ice_servers = Some(Vec::new());
    let saved = edited.parse(&local).unwrap();
    assert_eq!(saved.server.as_ref().map(|s| s.port), Some(9312));
    assert_eq!(saved.ice_servers, Some(Vec::new()));
    // Shown again, the saved settings give the same form.
    assert_eq!(SettingsForm::new(&saved, &local), edited);
}

#[test]
fn settings_round_trip_through_json() {
    let settings = Settings {
        server: Some(ServerConfig::public_cloud()),
        ice_servers: Some(vec![
            IceServer::google_stun(),
            ice("turn:t.org:3478?transport=tcp", "me", "pw")
                .parse(0)
                .unwrap(),
        ]),
    };
    let json = serde_json::to_string(&settings).unwrap();
    assert!(json.starts_with("{\"v\":1,"), "{json}");
    assert!(json.contains("\"iceServers\""), "{json}");
    assert_eq!(serde_json::from_str::<Settings>(&json).unwrap(), settings);
    let empty = serde_json::to_string(&Settings::default()).unwrap();
    assert_eq!(empty, r#"{"v":1,"server":null,"iceServers":null}"#);
    assert_eq!(
        serde_json::from_str::<Settings>(&empty).unwrap(),
        Settings::default()
    );
}

#[test]
fn stored_settings_are_checked_like_the_form() {
    let bad_port = r#"{"v":1,"server":{"host":"h","port":0,"path":"/","key":"peerjs","secure":false},"iceServers":null}"#;
    let e = serde_json::from_str::<Settings>(bad_port).unwrap_err();
    assert!(e.to_string().contains("port"), "{e}");
    let bad_host = r#"{"v":1,"server":{"host":"ws://h","port":1,"path":"/","key":"peerjs","secure":false},"iceServers":null}"#;
    assert!(serde_json::from_str::<Settings>(bad_host).is_err());
    let turn_without_credential =
        r#"{"v":1,"server":null,"iceServers":[{"urls":["turn:t.org"],"username":"u"}]}"#;
    let e = serde_json::from_str::<Settings>(turn_without_credential).unwrap_err();
    assert!(e.to_string().contains("credential"), "{e}");
    let no_urls = r#"{"v":1,"server":null,"iceServers":[{"urls":[]}]}"#;
    assert!(serde_json::from_str::<Settings>(no_urls).is_err());
    let newer = r#"{"v":2,"server":null,"iceServers":null}"#;
    let e = serde_json::from_str::<Settings>(newer).unwrap_err();
    assert!(e.to_string().contains("version 2"), "{e}");
}

#[test]
fn default_ice_servers_depend_on_the_signaling_server() {
    assert_eq!(default_ice_servers(&ServerConfig::local()), []);
    assert_eq!(
        default_ice_servers(&ServerConfig::public_cloud()),
        [IceServer::google_stun()]
    );
    let turn = ice("turn:t.org", "u", "p").parse(0).unwrap();
    let saved = [turn.clone()];
    // A saved list is used exactly, on loopback too, and an empty one means none.
    assert_eq!(ice_servers_for(Some(&saved), &ServerConfig::local()), saved);
    assert_eq!(
        ice_servers_for(Some(&saved), &ServerConfig::public_cloud()),
        [turn]
    );
    assert_eq!(
        ice_servers_for(Some(&[]), &ServerConfig::public_cloud()),
        []
    );
    assert_eq!(
        ice_servers_for(None, &ServerConfig::public_cloud()),
        [IceServer::google_stun()]
    );
}

#[test]
fn link_beats_saved_beats_default() {
    let saved = ServerConfig {
        port: 9312,
        ..ServerConfig::local()
    };
    let link = "ws://127.0.0.1:9311/";
    let c = choose_server("127.0.0.1", Some(link), Some(&saved));
    assert_eq!((c.server.port, c.source), (9311, ServerSource::Link));
    assert_eq!(c.rejected_override, None);

    let c = choose_server("127.0.0.1", None, Some(&saved));
    assert_eq!((c.server, c.source), (saved.clone(), ServerSource::Saved));

    let c = choose_server("127.0.0.1", None, None);
    assert_eq!(
        (c.server, c.source),
        (ServerConfig::local(), ServerSource::Default)
    );
    let c = choose_server("polls.example.org", None, None);
    assert_eq!(c.server, ServerConfig::public_cloud());

    // An unusable link parameter is reported and falls through to the saved server.
    let c = choose_server("127.0.0.1", Some("http://x"), Some(&saved));
    assert_eq!((c.server, c.source), (saved, ServerSource::Saved));
    assert_eq!(c.rejected_override, Some(ServerUrlError::BadScheme));
    let c = choose_server("127.0.0.1", Some("ws://x:0/"), None);
    assert_eq!(c.source, ServerSource::Default);
    assert_eq!(c.rejected_override, Some(ServerUrlError::BadPort));
}

#[test]
fn a_record_stored_before_the_server_types_were_merged_loads_and_is_written_the_same() {
    // Written by the version whose `ServerConfig` and `IceServer` lived in this crate.
    let stored = r#"{"v":1,"server":{"host":"peer.example.org","port":9443,"path":"/myapp/","key":"k-1","secure":true},"iceServers":[{"urls":["stun:stun.example.org:3478"]},{"urls":["turn:t.org:3478?transport=tcp","turns:t.org"],"username":"me","credential":"pw"}]}"#;
    let settings = serde_json::from_str::<Settings>(stored).unwrap();
    assert_eq!(
        settings.server,
        Some(ServerConfig {
            host: "peer.example.org".into(),
            port: 9443,
            path: "/myapp/".into(),
            key: "k-1".into(),
            secure: true,
        })
    );
    let ice = settings.ice_servers.clone().unwrap();
    assert_eq!(ice[0].urls(), ["stun:stun.example.org:3478"]);
    assert_eq!((ice[0].username(), ice[0].credential()), (None, None));
    assert_eq!(ice[1].urls().len(), 2);
    assert_eq!(
        (ice[1].username(), ice[1].credential()),
        (Some("me"), Some("pw"))
    );
    assert_eq!(serde_json::to_string(&settings).unwrap(), stored);
}
