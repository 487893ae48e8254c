//! The app's pages, one per route.

mod home;
mod new_poll;
mod owner_polls;
mod poll;
mod settings;
mod verify;

pub use home::Home;
pub use new_poll::NewPoll;
pub use owner_polls::OwnerPolls;
pub use poll::PollPage;
pub use settings::SettingsPage;
pub use verify::Verify;
