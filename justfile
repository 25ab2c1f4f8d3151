# Everyday commands (https://github.com/casey/just). Each is also a plain command.

pg_url := env_var_or_default("INTENTGATE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")

# Run the gateway on the embedded sled store.
run:
    cargo run --bin intentgate

fmt:
    cargo fmt --all

lint:
    cargo fmt --all -- --check
    cargo clippy --all-targets -- -D warnings

# The whole suite; the Postgres part is skipped (loudly) without a server.
test:
    cargo test

# The whole suite against a Postgres server.
test-pg:
    INTENTGATE_TEST_POSTGRES_URL={{pg_url}} cargo test

# The same with cargo-nextest (.config/nextest.toml groups the Postgres tests).
nextest:
    INTENTGATE_TEST_POSTGRES_URL={{pg_url}} cargo nextest run

# Benchmarks: the in-process pipeline, then the real path with wrk and oha.
bench:
    scripts/bench.sh
    INTENTGATE_TEST_POSTGRES_URL={{pg_url}} scripts/bench-real.sh

# Regenerate the committed OpenAPI document.
openapi:
    cargo run -q --bin intentgate -- openapi > openapi/openapi.json

# What CI runs.
ci:
    .ci/run
