//! Logs and traces: the `tracing` subscriber of the gateway process.
//!
//! Logs go to stderr (stdout carries audit lines), pretty or JSON
//! (`INTENTGATE_LOG_FORMAT=json`), filtered by `RUST_LOG` (default `info`). With the
//! `otel` cargo feature, setting `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) also exports spans, the request span with its
//! check stages among them, to an OTLP/HTTP collector, batched on a thread of their own
//! so a slow collector never slows a request. The standard `OTEL_*` variables apply.

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer, Registry};

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

const ENDPOINT_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
];

/// What `init` set up beyond logging; hand it back to [`Telemetry::shutdown`] at exit.
#[must_use = "shut telemetry down at exit, or batched spans are lost"]
pub struct Telemetry {
    #[cfg(feature = "otel")]
    traces: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
    /// Said once logging works.
    notices: Vec<String>,
}

/// Installs the process-wide subscriber. Call once, early in `main`.
pub fn init() -> Telemetry {
    // Colours only for a terminal: escape codes in a log file are noise, and writing
    // them costs a little on every span a request opens.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let fmt: BoxedLayer = if std::env::var("INTENTGATE_LOG_FORMAT").as_deref() == Ok("json") {
        fmt.json().with_filter(filter()).boxed()
    } else {
        fmt.with_filter(filter()).boxed()
    };
    let mut layers = vec![fmt];
    let telemetry = traces(&mut layers);
    tracing_subscriber::registry().with(layers).init();
    for notice in &telemetry.notices {
        tracing::warn!("{notice}");
    }
    telemetry
}

fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

fn export_requested() -> bool {
    ENDPOINT_VARS
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| !s.is_empty()))
}

#[cfg(not(feature = "otel"))]
fn traces(_layers: &mut Vec<BoxedLayer>) -> Telemetry {
    let notices = export_requested()
        .then(|| {
            "OTEL_EXPORTER_OTLP_ENDPOINT is set, but this build has no OpenTelemetry \
             export: build with `--features otel`"
                .to_owned()
        })
        .into_iter()
        .collect();
    Telemetry { notices }
}

#[cfg(feature = "otel")]
fn traces(layers: &mut Vec<BoxedLayer>) -> Telemetry {
    use opentelemetry::trace::TracerProvider as _;

    let mut telemetry = Telemetry {
        traces: None,
        notices: Vec::new(),
    };
    if !export_requested() {
        return telemetry;
    }
    match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
    {
        Ok(exporter) => {
            let resource = opentelemetry_sdk::Resource::builder()
                .with_service_name("intentgate-gateway")
                .build();
            let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(resource)
                .build();
            let tracer = provider.tracer("intentgate");
            let layer = tracing_opentelemetry::layer().with_tracer(tracer);
            layers.push(layer.with_filter(filter()).boxed());
            crate::instruments::spans_exported();
            telemetry.traces = Some(provider);
        }
        Err(e) => telemetry
            .notices
            .push(format!("OpenTelemetry export is off: {e}")),
    }
    telemetry
}

impl Telemetry {
    /// Flushes batched spans. Blocks while the exporter sends them (bounded by
    /// `OTEL_EXPORTER_OTLP_TIMEOUT`), so async callers run it on the blocking pool.
    pub fn shutdown(self) {
        #[cfg(feature = "otel")]
        if let Some(Err(e)) = self.traces.map(|provider| provider.shutdown()) {
            tracing::warn!(error = %e, "OpenTelemetry: flushing spans at exit failed");
        }
    }
}
