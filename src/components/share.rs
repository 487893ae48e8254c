//! The invite panel of a poll: the link with a copy button, its QR code, and the system share
//! sheet where the browser has one.
//!
//! The QR code comes from the core ([`starpoll_core::qr`]) as path data and is drawn as SVG
//! nodes, never as an HTML string. It is always dark modules on a light square (fixed colours,
//! not the theme's), so a phone can scan it in dark mode too. The Share button exists only where
//! `navigator.share` does; closing the share sheet is not an error.

use starpoll_core::qr::qr_path;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::ShareData;
use yew::prelude::*;

use crate::components::CopyButton;
use crate::error::{JsError, ShareError};

/// Props of [`Share`].
#[derive(Properties, PartialEq)]
pub struct ShareProps {
    /// The invite link (`…/p/<owner>/<poll>`).
    pub link: AttrValue,
    /// The poll's title, offered to the share sheet.
    pub title: AttrValue,
    /// Whether the poll is in the owner's public poll list (else the link is the only way in).
    pub listed: bool,
    /// Set while participants cannot reach this browser, with why (the page explains it; the
    /// link area says that the link does not work until then).
    #[prop_or_default]
    pub unreachable: Option<AttrValue>,
    /// Another hub keeps the poll online (the link names it with `?via=`).
    #[prop_or_default]
    pub kept_online: bool,
}

/// The link's QR code, ready for the `<svg>` attributes (cheap to clone on every render).
#[derive(PartialEq)]
struct QrDrawing {
    view_box: AttrValue,
    size: AttrValue,
    path: AttrValue,
}

/// What the last click on Share did.
#[derive(Clone, PartialEq)]
enum Outcome {
    Idle,
    Sharing,
    Failed(String),
}

/// The invite link (`share-link`, `copy-share-link`), whether the poll is listed
/// (`share-listing`, `data-listed`), its QR code (`share-qr`) and, where the browser supports it,
/// a Share button (`share-native`) with its status line (`share-status`).
#[component]
pub fn Share(props: &ShareProps) -> Html {
    let qr = use_memo(props.link.clone(), |link| {
        qr_path(link)
            .map(|qr| QrDrawing {
                view_box: qr.view_box().into(),
                size: qr.size().to_string().into(),
                path: qr.path().to_owned().into(),
            })
            .map_err(|e| e.to_string())
    });
    let can_share = *use_memo((), |()| web_share_available());
    let outcome = use_state(|| Outcome::Idle);
    let onclick = {
        let outcome = outcome.clone();
        let (title, link) = (props.title.clone(), props.link.clone());
        Callback::from(move |_: MouseEvent| {
            let (outcome, title, link) = (outcome.clone(), title.clone(), link.clone());
            outcome.set(Outcome::Sharing);
            spawn_local(async move {
                outcome.set(match share(&title, &link).await {
                    Ok(()) | Err(ShareError::Cancelled) => Outcome::Idle,
                    Err(e) => Outcome::Failed(e.to_string()),
                });
            });
        })
    };
    let status = match &*outcome {
        Outcome::Failed(why) => why.clone(),
        Outcome::Idle | Outcome::Sharing => String::new(),
    };
    let drawing = match &*qr {
        Ok(qr) => html! {
            <svg class="qr" data-testid="share-qr" role="img" aria-label="QR code of the invite link"
                xmlns="http://www.w3.org/2000/svg" viewBox={qr.view_box.clone()} shape-rendering="crispEdges">
                <rect width={qr.size.clone()} height={qr.size.clone()} fill="#ffffff" />
                <path d={qr.path.clone()} fill="#000000" />
            </svg>
        },
        Err(why) => {
            html! { <p class="hint error" data-testid="share-qr-error">{ why.clone() }</p> }
        }
    };
    html! {
        <div class="share">
            <div class="field share-link">
                <label for="share-link">{ "Invite link" }</label>
                <div class="peer-id-row">
                    <input id="share-link" data-testid="share-link" type="url" readonly=true value={props.link.clone()} />
                    <CopyButton text={props.link.clone()} label="Copy the invite link" testid={AttrValue::from("copy-share-link")} />
                    if can_share {
                        <button type="button" class="secondary" data-testid="share-native"
                            disabled={*outcome == Outcome::Sharing} {onclick}>{ "Share…" }</button>
                    }
                </div>
                if can_share {
                    <p class="hint error" data-testid="share-status" aria-live="polite">{ status }</p>
                }
                if props.unreachable.is_some() {
                    <p class="notice warn" data-testid="share-unreachable">
                        <strong>{ "The link does not work right now: " }</strong>
                        { "this browser is not connected to the signaling server, so nobody can join or vote until it is (see above)." }
                    </p>
                } else if props.kept_online {
                    <p class="hint">{ "Anyone with this link can join: the hub keeps this poll online while this browser is closed." }</p>
                } else {
                    <p class="hint">{ "Anyone with this link can join while this browser has starpoll open." }</p>
                }
                <p class="hint" data-testid="share-listing" data-listed={props.listed.to_string()}>
                    { if props.listed {
                        "Listed: anyone with your peer ID can also find it in the list of your polls."
                    } else {
                        "Unlisted: the link is the only way in, so share it only with the people you invite."
                    } }
                </p>
            </div>
            <figure class="share-qr">
                { drawing }
                <figcaption class="hint">{ "Scan with a phone camera to join." }</figcaption>
            </figure>
        </div>
    }
}

/// Whether this browser has the Web Share API (desktop Chromium on Linux does not).
fn web_share_available() -> bool {
    web_sys::window().is_some_and(|window| {
        js_sys::Reflect::has(&window.navigator(), &JsValue::from_str("share")).unwrap_or(false)
    })
}

/// Opens the system share sheet with the poll's title and link.
async fn share(title: &str, link: &str) -> Result<(), ShareError> {
    let window = web_sys::window().ok_or_else(|| {
        ShareError::Failed(JsError {
            name: "Error".into(),
            message: "no window".into(),
        })
    })?;
    let data = ShareData::new();
    data.set_title(title);
    data.set_text(&format!("Vote in “{title}” on starpoll"));
    data.set_url(link);
    JsFuture::from(window.navigator().share_with_data(&data)).await?;
    Ok(())
}
