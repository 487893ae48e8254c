//! Small presentational components. They receive data and callbacks through props and never
//! touch storage or the network themselves.

mod ballot;
mod confirm;
mod copy_button;
mod edit_poll;
mod hub_panel;
mod name_field;
mod options_editor;
mod share;
mod startup_error;

pub use ballot::Ballot;
pub use confirm::ConfirmButton;
pub use copy_button::CopyButton;
pub use edit_poll::EditPoll;
pub use hub_panel::{short_peer, HubMove, HubStatus, Viewer};
pub use name_field::NameField;
pub use options_editor::OptionsEditor;
pub use share::Share;
pub use startup_error::StartupError;
