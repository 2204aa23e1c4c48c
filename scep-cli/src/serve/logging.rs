//! Log lines on standard error (standard output carries only the `listening on` lines):
//! timestamp, level, message and fields, as text or one JSON object per line.

use crate::settings::LogFormat;

/// Installs the global subscriber and a panic hook that logs panics as errors.
pub(crate) fn init(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_max_level(tracing::Level::INFO);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
    std::panic::set_hook(Box::new(|info| {
        tracing::error!(panic = %info, "panic");
    }));
}
