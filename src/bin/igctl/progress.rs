//! Byte progress on stderr, drawn only for a person watching: hidden when stderr is
//! not a terminal, so scripts and tests see clean output.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `len` bytes, or a byte-counting spinner when the length is unknown.
pub fn bytes_bar(len: Option<u64>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let (bar, template) = match len {
        Some(len) => (
            ProgressBar::new(len),
            "{bar:40} {bytes}/{total_bytes} ({bytes_per_sec})",
        ),
        None => (
            ProgressBar::new_spinner(),
            "{spinner} {bytes} ({bytes_per_sec})",
        ),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}
