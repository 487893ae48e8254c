//! B6 baseline: the smallest Yew app, built the same way as starpoll.

use yew::prelude::*;

#[function_component(Hello)]
fn hello() -> Html {
    html! { <h1 data-testid="hello">{ "Hello" }</h1> }
}

fn main() {
    yew::Renderer::<Hello>::new().render();
}
