//! Binary entry point: mounts the app. Everything else lives in the library so tests can use it.

fn main() {
    starpoll::start();
}
