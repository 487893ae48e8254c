//! A participant's session with one poll's owner (being written).
