//! Pages: one component per route. They read the app context and call its intents.

mod home;

pub use home::Home;
