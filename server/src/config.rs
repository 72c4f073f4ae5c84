//! Serve configuration: flags, environment variables and an optional TOML file mapped onto
//! one struct, validated at start-up into a typed error.
//!
//! Precedence: command-line flag, then environment variable, then the TOML file, then the
//! default.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Default model, as placed by `make models`.
pub const DEFAULT_MODEL: &str = "models/SmolLM2-135M-Instruct.Q8_0.gguf";

/// Default embedding model folder, as placed by `make models`.
pub const DEFAULT_EMBEDDER: &str = "models/embed";

/// Default guideline index folder, as written by `medserve index build`.
pub const DEFAULT_INDEX: &str = "models/index";

/// Everything `medserve serve` accepts. Every field is optional here; [`ServeArgs::resolve`]
/// applies defaults and checks values.
#[derive(Debug, Default, Clone, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeArgs {
    /// TOML file with any of these settings (snake_case keys).
    #[arg(long, env = "MEDSERVE_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Address to bind [default: 127.0.0.1].
    #[arg(long, env = "MEDSERVE_HOST")]
    pub host: Option<String>,
    /// Port to bind [default: 8080].
    #[arg(long, env = "MEDSERVE_PORT")]
    pub port: Option<u16>,
    /// GGUF model file [default: models/SmolLM2-135M-Instruct.Q8_0.gguf].
    #[arg(long, env = "MEDSERVE_MODEL")]
    pub model: Option<PathBuf>,
    /// Name clients use in `model` [default: the file name without extension].
    #[arg(long, env = "MEDSERVE_MODEL_ID")]
    pub model_id: Option<String>,
    /// Sequences decoded together (continuous batching) [default: 8].
    #[arg(long, env = "MEDSERVE_MAX_NUM_SEQS")]
    pub max_num_seqs: Option<usize>,
    /// Requests that may wait for a slot before new ones get 429 [default: 32].
    #[arg(long, env = "MEDSERVE_MAX_QUEUE")]
    pub max_queue: Option<usize>,
    /// Reuse KV caches of earlier prompts [default: true].
    #[arg(long, env = "MEDSERVE_PREFIX_CACHE", action = clap::ArgAction::Set)]
    pub prefix_cache: Option<bool>,
    /// Prompts kept in the prefix cache [default: 16].
    #[arg(long, env = "MEDSERVE_PREFIX_CACHE_N")]
    pub prefix_cache_n: Option<usize>,
    /// Most MiB of KV data the prefix cache keeps; the oldest prompts go first [default: 512].
    #[arg(long, env = "MEDSERVE_PREFIX_CACHE_MB")]
    pub prefix_cache_mb: Option<usize>,
    /// Seconds in-flight requests get to finish after SIGINT/SIGTERM [default: 30].
    #[arg(long, env = "MEDSERVE_SHUTDOWN_GRACE_SECS")]
    pub shutdown_grace_secs: Option<u64>,
    /// Seconds between SSE keep-alive comments [default: 15].
    #[arg(long, env = "MEDSERVE_KEEP_ALIVE_SECS")]
    pub keep_alive_secs: Option<u64>,
    /// Whom the fixed emergency answer tells people to call, e.g. "000 (Australia)"
    /// [default: "your local emergency number (911 in the US, 999 in the UK, 112 in the EU)"].
    #[arg(long, env = "MEDSERVE_EMERGENCY_NUMBERS")]
    pub emergency_numbers: Option<String>,
    /// Most characters of model output the output policy may hold back while a sentence is
    /// incomplete (40–4000) [default: 300].
    #[arg(long, env = "MEDSERVE_HOLDBACK_CHARS")]
    pub holdback_chars: Option<usize>,
    /// Embedding model folder (ONNX model, tokenizer, ONNX Runtime library)
    /// [default: models/embed].
    #[arg(long, env = "MEDSERVE_EMBEDDER")]
    pub embedder: Option<PathBuf>,
    /// Guideline index folder from `medserve index build` [default: models/index].
    #[arg(long, env = "MEDSERVE_INDEX")]
    pub index: Option<PathBuf>,
    /// Ground answers in the guideline index [default: true]. `false` serves without
    /// retrieval (and without `/v1/embeddings`).
    #[arg(long, env = "MEDSERVE_RETRIEVAL", action = clap::ArgAction::Set)]
    pub retrieval: Option<bool>,
    /// `keys` (Bearer API keys with roles) or `open` (no keys, every action allowed; local
    /// development only: refused on a non-loopback address) [default: keys].
    #[arg(long, env = "MEDSERVE_AUTH")]
    pub auth: Option<String>,
    /// The store: a SQLite database file, or a `postgres://` URL for replicas sharing one
    /// database (created, migrated on start) [default: data/medserve.db].
    #[arg(long, env = "MEDSERVE_DB")]
    pub db: Option<PathBuf>,
    /// Requests per minute per key, where the key sets none [default: 120].
    #[arg(long, env = "MEDSERVE_RATE_LIMIT_RPM")]
    pub rate_limit_rpm: Option<u32>,
    /// Concurrent generations per key, where the key sets none [default: 4].
    #[arg(long, env = "MEDSERVE_MAX_STREAMS_PER_KEY")]
    pub max_streams_per_key: Option<u32>,
    /// Replicas sharing one database: each enforces its share (rounded up) of every
    /// key's rate and concurrency limit [default: 1].
    #[arg(long, env = "MEDSERVE_REPLICAS")]
    pub replicas: Option<u32>,
    /// Open connections at once; more are closed at once.
    #[arg(long, env = "MEDSERVE_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Seconds to receive a request's headers.
    #[arg(long, env = "MEDSERVE_HEADER_TIMEOUT_SECS")]
    pub header_timeout_secs: Option<u64>,
    /// Seconds a connection may stay without any byte read or written.
    #[arg(long, env = "MEDSERVE_IDLE_TIMEOUT_SECS")]
    pub idle_timeout_secs: Option<u64>,
    /// Seconds a response write may wait for a client that stopped reading.
    #[arg(long, env = "MEDSERVE_WRITE_TIMEOUT_SECS")]
    pub write_timeout_secs: Option<u64>,
    /// Weights of the learned guardrail detectors (written by `medserve guardrails train`).
    #[arg(long, env = "MEDSERVE_GUARDRAILS_WEIGHTS")]
    pub guardrails_weights: Option<PathBuf>,
    /// Deployment policy of the guardrails (TOML); the shipped one when absent.
    #[arg(long, env = "MEDSERVE_GUARDRAILS_POLICY")]
    pub guardrails_policy: Option<PathBuf>,
}

/// Default store file.
pub const DEFAULT_DB: &str = "data/medserve.db";
/// Store file of open mode (never the keys-mode one).
pub const DEFAULT_OPEN_DB: &str = "data/medserve-open.db";

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Bind address.
    pub addr: SocketAddr,
    /// Model file (exists, is GGUF).
    pub model: PathBuf,
    /// Served model name.
    pub model_id: Option<String>,
    /// Batch size of the engine.
    pub max_num_seqs: usize,
    /// Waiting requests allowed.
    pub max_queue: usize,
    /// Prefix caching on.
    pub prefix_cache: bool,
    /// Prefix cache entries.
    pub prefix_cache_n: usize,
    /// Prefix cache byte budget, MiB.
    pub prefix_cache_mb: usize,
    /// Drain deadline.
    pub shutdown_grace: Duration,
    /// SSE keep-alive interval.
    pub keep_alive: Duration,
    /// Emergency numbers text.
    pub emergency_numbers: String,
    /// Output-policy hold-back bound, characters.
    pub holdback_chars: usize,
    /// The sentence encoder's folder (guardrails always; retrieval when on).
    pub embedder: PathBuf,
    /// Guideline index folder, when retrieval is on.
    pub retrieval: Option<PathBuf>,
    /// Weights of the learned guardrail detectors.
    pub guardrails_weights: PathBuf,
    /// Listener limits.
    pub conn: crate::listener::ConnLimits,
    /// The guardrails policy file (`None`: the shipped policy).
    pub guardrails_policy: Option<PathBuf>,
    /// Keys or open mode.
    pub auth: crate::auth::AuthMode,
    /// Store file.
    pub db: PathBuf,
    /// Per-key limit defaults.
    pub limits: crate::auth::LimitDefaults,
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The TOML file is malformed or has an unknown key.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// File.
        path: PathBuf,
        /// Parser message.
        message: String,
    },
    /// A value is out of range.
    #[error("invalid setting `{field}`: {message}")]
    Invalid {
        /// Setting name.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The model file is missing or not GGUF.
    #[error("model file {path}: {message} (run `make models` to fetch the default model)")]
    Model {
        /// File.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn invalid(field: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field,
        message: message.into(),
    }
}

impl ServeArgs {
    /// Fills gaps from the TOML file named by `config`, if any.
    pub fn merge_file(self) -> Result<Self, ConfigError> {
        let Some(path) = self.config.clone() else {
            return Ok(self);
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        let file: ServeArgs = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.clone(),
            message: e.to_string(),
        })?;
        Ok(ServeArgs {
            config: self.config,
            host: self.host.or(file.host),
            port: self.port.or(file.port),
            model: self.model.or(file.model),
            model_id: self.model_id.or(file.model_id),
            max_num_seqs: self.max_num_seqs.or(file.max_num_seqs),
            max_queue: self.max_queue.or(file.max_queue),
            prefix_cache: self.prefix_cache.or(file.prefix_cache),
            prefix_cache_n: self.prefix_cache_n.or(file.prefix_cache_n),
            prefix_cache_mb: self.prefix_cache_mb.or(file.prefix_cache_mb),
            shutdown_grace_secs: self.shutdown_grace_secs.or(file.shutdown_grace_secs),
            keep_alive_secs: self.keep_alive_secs.or(file.keep_alive_secs),
            emergency_numbers: self.emergency_numbers.or(file.emergency_numbers),
            holdback_chars: self.holdback_chars.or(file.holdback_chars),
            embedder: self.embedder.or(file.embedder),
            index: self.index.or(file.index),
            retrieval: self.retrieval.or(file.retrieval),
            auth: self.auth.or(file.auth),
            db: self.db.or(file.db),
            rate_limit_rpm: self.rate_limit_rpm.or(file.rate_limit_rpm),
            max_streams_per_key: self.max_streams_per_key.or(file.max_streams_per_key),
            replicas: self.replicas.or(file.replicas),
            max_connections: self.max_connections.or(file.max_connections),
            header_timeout_secs: self.header_timeout_secs.or(file.header_timeout_secs),
            idle_timeout_secs: self.idle_timeout_secs.or(file.idle_timeout_secs),
            write_timeout_secs: self.write_timeout_secs.or(file.write_timeout_secs),
            guardrails_weights: self.guardrails_weights.or(file.guardrails_weights),
            guardrails_policy: self.guardrails_policy.or(file.guardrails_policy),
        })
    }

    /// Applies defaults and validates.
    pub fn resolve(self) -> Result<Config, ConfigError> {
        let args = self.merge_file()?;
        let host = args.host.unwrap_or_else(|| "127.0.0.1".into());
        let ip: IpAddr = if host == "localhost" {
            IpAddr::from([127, 0, 0, 1])
        } else {
            host.parse()
                .map_err(|_| invalid("host", format!("{host:?} is not an IP address")))?
        };
        let auth = match args.auth.as_deref().unwrap_or("keys") {
            "keys" => crate::auth::AuthMode::Keys,
            "open" if ip.is_loopback() => crate::auth::AuthMode::Open,
            "open" => {
                return Err(invalid(
                    "auth",
                    format!(
                        "open mode is for local development only and refuses the \
                         non-loopback address {ip}; use --auth keys"
                    ),
                ))
            }
            other => {
                return Err(invalid(
                    "auth",
                    format!("must be keys or open, got {other:?}"),
                ))
            }
        };
        let rpm = args.rate_limit_rpm.unwrap_or(120);
        if !(1..=1_000_000).contains(&rpm) {
            return Err(invalid(
                "rate_limit_rpm",
                format!("must be 1..=1000000, got {rpm}"),
            ));
        }
        let max_streams = args.max_streams_per_key.unwrap_or(4);
        if !(1..=10_000).contains(&max_streams) {
            return Err(invalid(
                "max_streams_per_key",
                format!("must be 1..=10000, got {max_streams}"),
            ));
        }
        let replicas = args.replicas.unwrap_or(1);
        if !(1..=1000).contains(&replicas) {
            return Err(invalid(
                "replicas",
                format!("must be 1..=1000, got {replicas}"),
            ));
        }
        let port = args.port.unwrap_or(8080);
        let model = args.model.unwrap_or_else(|| PathBuf::from(DEFAULT_MODEL));
        check_model(&model)?;
        if let Some(id) = &args.model_id {
            if id.trim().is_empty() {
                return Err(invalid("model_id", "must not be empty"));
            }
        }
        let max_num_seqs = args.max_num_seqs.unwrap_or(8);
        if !(1..=256).contains(&max_num_seqs) {
            return Err(invalid(
                "max_num_seqs",
                format!("must be 1..=256, got {max_num_seqs}"),
            ));
        }
        let max_queue = args.max_queue.unwrap_or(32);
        if max_queue > 100_000 {
            return Err(invalid(
                "max_queue",
                format!("must be at most 100000, got {max_queue}"),
            ));
        }
        let prefix_cache_n = args.prefix_cache_n.unwrap_or(16);
        if prefix_cache_n == 0 {
            return Err(invalid(
                "prefix_cache_n",
                "must be at least 1 (disable with prefix_cache = false)",
            ));
        }
        let prefix_cache_mb = args.prefix_cache_mb.unwrap_or(512);
        if !(1..=1 << 20).contains(&prefix_cache_mb) {
            return Err(invalid(
                "prefix_cache_mb",
                format!(
                    "must be between 1 and 1048576 (disable with prefix_cache = false), got {prefix_cache_mb}"
                ),
            ));
        }
        let holdback_chars = args.holdback_chars.unwrap_or(300);
        if !(40..=4000).contains(&holdback_chars) {
            return Err(invalid(
                "holdback_chars",
                format!("must be between 40 and 4000, got {holdback_chars}"),
            ));
        }
        let keep_alive_secs = args.keep_alive_secs.unwrap_or(15);
        if keep_alive_secs == 0 {
            return Err(invalid("keep_alive_secs", "must be at least 1"));
        }
        Ok(Config {
            auth,
            db: match (auth, args.db) {
                // Open mode never touches the keys-mode store (its keys, reports, audit).
                (crate::auth::AuthMode::Open, Some(db)) if db == Path::new(DEFAULT_DB) => {
                    return Err(invalid(
                        "db",
                        format!("open mode refuses the keys-mode database {DEFAULT_DB}; use another file"),
                    ))
                }
                (crate::auth::AuthMode::Open, None) => DEFAULT_OPEN_DB.into(),
                (_, Some(db)) => db,
                (_, None) => DEFAULT_DB.into(),
            },
            conn: {
                let secs = |field: &'static str, v: Option<u64>, default: u64| {
                    let v = v.unwrap_or(default);
                    if (1..=86_400).contains(&v) {
                        Ok(Duration::from_secs(v))
                    } else {
                        Err(invalid(field, format!("must be 1..=86400 seconds, got {v}")))
                    }
                };
                let max_connections = args.max_connections.unwrap_or(1024);
                if !(1..=1_000_000).contains(&max_connections) {
                    return Err(invalid("max_connections", format!("must be 1..=1000000, got {max_connections}")));
                }
                crate::listener::ConnLimits {
                    max_connections,
                    header_read: secs("header_timeout_secs", args.header_timeout_secs, 10)?,
                    idle: secs("idle_timeout_secs", args.idle_timeout_secs, 300)?,
                    write: secs("write_timeout_secs", args.write_timeout_secs, 30)?,
                }
            },
            limits: crate::auth::LimitDefaults {
                rpm,
                max_streams,
                replicas,
            },
            addr: SocketAddr::new(ip, port),
            model,
            model_id: args.model_id,
            max_num_seqs,
            max_queue,
            prefix_cache: args.prefix_cache.unwrap_or(true),
            prefix_cache_n,
            prefix_cache_mb,
            shutdown_grace: Duration::from_secs(args.shutdown_grace_secs.unwrap_or(30)),
            keep_alive: Duration::from_secs(keep_alive_secs),
            emergency_numbers: match args.emergency_numbers {
                Some(n) if n.trim().is_empty() => {
                    return Err(invalid("emergency_numbers", "must not be empty"))
                }
                Some(n) => n,
                None => medserve_guardrails::emergency::DEFAULT_NUMBERS.to_string(),
            },
            holdback_chars,
            retrieval: if args.retrieval.unwrap_or(true) {
                let index = args.index.unwrap_or_else(|| DEFAULT_INDEX.into());
                if !index.is_dir() {
                    return Err(invalid(
                        "index",
                        format!(
                            "{} is not a folder (run `make setup`, or `medserve index build`; \
                             `--retrieval false` serves without retrieval)",
                            index.display()
                        ),
                    ));
                }
                Some(index)
            } else {
                None
            },
            embedder: {
                let embedder = args.embedder.unwrap_or_else(|| DEFAULT_EMBEDDER.into());
                if !embedder.is_dir() {
                    return Err(invalid(
                        "embedder",
                        format!(
                            "{} is not a folder: the guardrails need the sentence encoder \
                             (run `make setup`)",
                            embedder.display()
                        ),
                    ));
                }
                embedder
            },
            guardrails_weights: {
                let w = args
                    .guardrails_weights
                    .unwrap_or_else(|| medserve_guardrails::learned::DEFAULT_WEIGHTS.into());
                if !w.is_file() {
                    return Err(invalid(
                        "guardrails_weights",
                        format!("{} is not a file (`medserve guardrails train` writes it)", w.display()),
                    ));
                }
                w
            },
            guardrails_policy: match args.guardrails_policy {
                Some(p) if !p.is_file() => {
                    return Err(invalid("guardrails_policy", format!("{} is not a file", p.display())))
                }
                p => p,
            },
        })
    }
}

/// The file must exist and start with the GGUF magic.
pub fn check_model(path: &Path) -> Result<(), ConfigError> {
    use std::io::Read;
    let err = |message: String| ConfigError::Model {
        path: path.to_path_buf(),
        message,
    };
    let mut f = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    let mut magic = [0u8; 4];
    f.read_exact(&mut magic)
        .map_err(|_| err("too short to be a GGUF file".into()))?;
    if &magic != b"GGUF" {
        return Err(err("not a GGUF file (bad magic)".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gguf_stub() -> tempfile_path::TempPath {
        tempfile_path::TempPath::with_bytes(b"GGUF\x03\x00\x00\x00")
    }

    /// Minimal temp-file helper (no extra dependency).
    mod tempfile_path {
        pub struct TempPath(pub std::path::PathBuf);
        impl TempPath {
            pub fn with_bytes(b: &[u8]) -> Self {
                let p = std::env::temp_dir().join(format!("medserve-cfg-{}", uuid::Uuid::new_v4()));
                std::fs::write(&p, b).unwrap();
                TempPath(p)
            }
        }
        impl Drop for TempPath {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
    }

    #[test]
    fn defaults_and_flag_over_file_precedence() {
        let model = gguf_stub();
        let toml = tempfile_path::TempPath::with_bytes(
            format!("port = 9000\nmax_num_seqs = 4\nmodel = {:?}\n", model.0).as_bytes(),
        );
        let cfg = ServeArgs {
            config: Some(toml.0.clone()),
            max_num_seqs: Some(2),
            retrieval: Some(false),
            embedder: Some(std::env::temp_dir()),
            guardrails_weights: Some(model.0.clone()),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(cfg.addr.port(), 9000, "file value used when no flag");
        assert_eq!(cfg.max_num_seqs, 2, "flag beats file");
        assert_eq!(cfg.max_queue, 32, "default");
        assert!(cfg.prefix_cache);
    }

    #[test]
    fn bad_values_are_named() {
        let model = gguf_stub();
        let base = || ServeArgs {
            model: Some(model.0.clone()),
            ..Default::default()
        };
        // The guardrails need the encoder; retrieval (on by default) needs its index.
        let e = ServeArgs {
            embedder: Some("/nonexistent/embed".into()),
            retrieval: Some(false),
            ..base()
        }
        .resolve()
        .unwrap_err();
        assert!(e.to_string().contains("`embedder`"), "{e}");
        let e = ServeArgs {
            embedder: Some(std::env::temp_dir()),
            index: Some("/nonexistent/index".into()),
            ..base()
        }
        .resolve()
        .unwrap_err();
        assert!(e.to_string().contains("`index`"), "{e}");
        let e = ServeArgs {
            embedder: Some(std::env::temp_dir()),
            retrieval: Some(false),
            guardrails_weights: Some("/nonexistent/heads.json".into()),
            ..base()
        }
        .resolve()
        .unwrap_err();
        assert!(e.to_string().contains("`guardrails_weights`"), "{e}");
        let e = ServeArgs {
            embedder: Some(std::env::temp_dir()),
            retrieval: Some(false),
            guardrails_weights: Some(model.0.clone()),
            guardrails_policy: Some("/nonexistent/policy.toml".into()),
            ..base()
        }
        .resolve()
        .unwrap_err();
        assert!(e.to_string().contains("`guardrails_policy`"), "{e}");
        let e = ServeArgs {
            host: Some("not a host".into()),
            ..base()
        }
        .resolve()
        .unwrap_err();
        assert!(e.to_string().contains("`host`"), "{e}");
        let e = ServeArgs {
            max_num_seqs: Some(0),
            ..base()
        }
        .resolve()
        .unwrap_err();
        assert!(e.to_string().contains("`max_num_seqs`"), "{e}");
        let e = ServeArgs {
            model: Some("/nonexistent.gguf".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap_err();
        assert!(matches!(e, ConfigError::Model { .. }), "{e}");
        let not_gguf = tempfile_path::TempPath::with_bytes(b"PK\x03\x04zip");
        let e = ServeArgs {
            model: Some(not_gguf.0.clone()),
            ..Default::default()
        }
        .resolve()
        .unwrap_err();
        assert!(e.to_string().contains("bad magic"), "{e}");
    }

    #[test]
    fn keys_by_default_and_open_mode_only_on_loopback() {
        let model = gguf_stub();
        let base = || ServeArgs {
            model: Some(model.0.clone()),
            retrieval: Some(false),
            embedder: Some(std::env::temp_dir()),
            guardrails_weights: Some(model.0.clone()),
            ..Default::default()
        };
        assert_eq!(base().resolve().unwrap().auth, crate::auth::AuthMode::Keys);
        let open = ServeArgs {
            auth: Some("open".into()),
            ..base()
        };
        assert_eq!(open.resolve().unwrap().auth, crate::auth::AuthMode::Open);
        for host in ["0.0.0.0", "192.0.2.10", "::"] {
            let e = ServeArgs {
                auth: Some("open".into()),
                host: Some(host.into()),
                ..base()
            }
            .resolve()
            .unwrap_err();
            assert!(
                e.to_string().contains("`auth`") && e.to_string().contains("loopback"),
                "{e}"
            );
        }
        let e = ServeArgs {
            auth: Some("none".into()),
            ..base()
        }
        .resolve()
        .unwrap_err();
        assert!(e.to_string().contains("`auth`"), "{e}");
        let e = ServeArgs {
            rate_limit_rpm: Some(0),
            ..base()
        }
        .resolve()
        .unwrap_err();
        assert!(e.to_string().contains("`rate_limit_rpm`"), "{e}");
    }

    #[test]
    fn bad_port_and_unknown_key_in_file() {
        let f = tempfile_path::TempPath::with_bytes(b"port = 70000\n");
        let e = ServeArgs {
            config: Some(f.0.clone()),
            ..Default::default()
        }
        .resolve()
        .unwrap_err();
        assert!(matches!(e, ConfigError::Parse { .. }), "{e}");
        let f = tempfile_path::TempPath::with_bytes(b"prot = 80\n");
        let e = ServeArgs {
            config: Some(f.0.clone()),
            ..Default::default()
        }
        .resolve()
        .unwrap_err();
        assert!(e.to_string().contains("prot"), "{e}");
    }
}
