//! Files in and out of the page: saving text as a download, and reading a file the user picked.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::error::{AppError, JsError};

/// Offers `text` as a file download named `name` (the browser saves it; nothing leaves the
/// machine).
pub fn download(name: &str, mime: &str, text: &str) -> Result<(), AppError> {
    let parts = js_sys::Array::of1(&text.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(JsError::from)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(JsError::from)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| missing("no document"))?;
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

/// The text of a file the user picked.
pub async fn read_text(file: &web_sys::File) -> Result<String, AppError> {
    let text = JsFuture::from(file.text()).await.map_err(JsError::from)?;
    text.as_string()
        .ok_or_else(|| missing("the file is not text"))
}

/// The first file picked in an `<input type="file">`, if any.
pub fn picked(input: &web_sys::HtmlInputElement) -> Option<web_sys::File> {
    input.files().and_then(|files| files.get(0))
}

fn missing(what: &str) -> AppError {
    AppError::Js(JsError {
        name: "Error".into(),
        message: what.into(),
    })
}
