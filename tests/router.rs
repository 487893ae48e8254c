//! Browser tests of the router's paths: every route round-trips through its path, and paths
//! match as they did with yew-router (trailing slash, one-segment parameters, percent-decoding).

use starpoll::router::Route;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn every_route_round_trips_through_its_path() {
    let routes = [
        Route::Home,
        Route::NewPoll,
        Route::Poll {
            owner: "owner-id".into(),
            poll: "11111111-1111-4111-9111-111111111111".into(),
        },
        Route::Poll {
            owner: "a b/c?".into(),
            poll: "%".into(),
        },
        Route::OwnerPolls {
            owner: "owner-id".into(),
        },
        Route::Settings,
        Route::Verify,
        Route::NotFound,
    ];
    for route in routes {
        assert_eq!(Route::recognize(&route.path()), route, "{}", route.path());
    }
}

#[wasm_bindgen_test]
fn paths_match_like_yew_router() {
    let poll = |owner: &str, poll: &str| Route::Poll {
        owner: owner.into(),
        poll: poll.into(),
    };
    let cases = [
        ("/", Route::Home),
        ("", Route::Home),
        ("/new", Route::NewPoll),
        ("/new/", Route::NewPoll),
        ("/p/o/x", poll("o", "x")),
        ("/p/o/x/", poll("o", "x")),
        ("/p/%41b/x", poll("Ab", "x")),
        (
            "/o/abc",
            Route::OwnerPolls {
                owner: "abc".into(),
            },
        ),
        ("/settings", Route::Settings),
        ("/verify/", Route::Verify),
        ("/404", Route::NotFound),
        ("/p/o", Route::NotFound),
        ("/p//x", Route::NotFound),
        ("/p/o/x/y", Route::NotFound),
        ("/p/%E0%A4%A/x", Route::NotFound),
        ("/nope", Route::NotFound),
        ("//", Route::NotFound),
    ];
    for (path, route) in cases {
        assert_eq!(Route::recognize(path), route, "{path}");
    }
}
