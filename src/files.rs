//! Files in and out of the page: saving text as a download, and reading a file the user picked.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::error::JsError;

/// Why a file could not be saved or read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The picked file is larger than the caller accepts.
    #[error("the file is too large ({got} bytes; at most {limit})")]
    TooLarge {
        /// The most bytes accepted.
        limit: u64,
        /// The file's size.
        got: u64,
    },
    /// The browser refused (no document, a failed read, a file that is not text).
    #[error(transparent)]
    Js(#[from] JsError),
}

/// Offers `text` as a file download named `name` (the browser saves it; nothing leaves the
/// machine).
pub fn download(name: &str, mime: &str, text: &str) -> Result<(), FileError> {
    let parts = js_sys::Array::of1(&text.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(JsError::from)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(JsError::from)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| browser("no document"))?;
    // `create_element("a")` always makes an anchor element.
    let anchor: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(JsError::from)?
        .unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    // The click has started the download; the URL is no longer needed.
    web_sys::Url::revoke_object_url(&url).map_err(JsError::from)?;
    Ok(())
}

/// The first file picked in an `<input type="file">`, if any.
pub fn picked(input: &web_sys::HtmlInputElement) -> Option<web_sys::File> {
    input.files().and_then(|files| files.get(0))
}

/// The text of a file the user picked, refused unread when larger than `max_bytes`.
///
/// Sizes are whole numbers of bytes and print as integers (no float formatting in the bundle).
pub async fn read_text(file: &web_sys::File, max_bytes: u64) -> Result<String, FileError> {
    // A file's size is a whole number of bytes below 2^53; `as` saturates anything else.
    let got = file.size() as u64;
    if got > max_bytes {
        return Err(FileError::TooLarge {
            limit: max_bytes,
            got,
        });
    }
    let text = JsFuture::from(file.text()).await.map_err(JsError::from)?;
    text.as_string()
        .ok_or_else(|| browser("the file is not text").into())
}

fn browser(what: &str) -> JsError {
    JsError {
        name: "Error".into(),
        message: what.into(),
    }
}
