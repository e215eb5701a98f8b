//! A deterministic generator of log data sets (same seed, same bytes), for benchmarks and tests.
//! Access logs follow the shape of `shared/bench/gen` (nginx combined with a trailing request
//! time, skewed clients and paths, ~85% 200s).

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use std::process::ExitCode;

use anyhow::{Context, bail};
use logfusion_engine::ByteSize;

/// Arguments of `logfusion gen`.
#[derive(Debug, clap::Args)]
pub struct GenArgs {
    /// Format to generate: access, syslog, json, logfmt, or app (`2026-10-01 00:00:00.123
    /// [INFO] component: message`, the layout of `data/custom/app.log`, for regex formats).
    #[arg(long, default_value = "access")]
    format: String,
    /// Approximate size, e.g. 512MiB or 5GiB.
    #[arg(long, default_value = "64MiB")]
    size: ByteSize,
    /// One malformed line in every N lines (0: none).
    #[arg(long, default_value_t = 0)]
    malformed_every: u64,
    /// Seed of the generator.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Output file (`-` for stdout).
    #[arg(long, default_value = "data/generated/access.log")]
    out: PathBuf,
}

/// Generates the data set.
pub fn run(args: &GenArgs) -> anyhow::Result<ExitCode> {
    generate(&args.format, args.size.0, args.malformed_every, args.seed, &args.out)?;
    Ok(ExitCode::SUCCESS)
}

/// xorshift64* — small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Zipf-like index in [0, n).
    fn skewed(&mut self, n: u64) -> u64 {
        ((n as f64).powf(self.unit()) - 1.0) as u64 % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const SECTIONS: [&str; 8] =
    ["api/v1/users", "api/v1/orders", "api/v2/search", "static/js", "images", "blog", "checkout", "login"];
const AGENTS: [&str; 5] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "curl/8.4.0",
    "Googlebot/2.1 (+http://www.google.com/bot.html)",
];
const HOSTS: [&str; 4] = ["web-1", "web-2", "db-1", "cache-1"];
const APPS: [&str; 5] = ["sshd", "nginx", "kernel", "cron", "postgres"];
const LEVELS: [&str; 5] = ["debug", "info", "info", "warn", "error"];
const MESSAGES: [&str; 6] = [
    "connection accepted",
    "request finished",
    "cache miss for key user:42",
    "slow query detected",
    "upstream timed out",
    "disk usage above 90%",
];

/// One generated line (without `\n`) at second `t` after 2026-10-01T00:00:00Z.
fn line(format: &str, rng: &mut Rng, t: u64, out: &mut String) {
    let day = 1 + (t / 86_400) % 28;
    let (h, m, s) = ((t / 3600) % 24, (t / 60) % 60, t % 60);
    let r = rng.below(1000);
    let status = match r {
        0..850 => 200,
        850..900 => 304,
        900..930 => 301,
        930..960 => 404,
        960..975 => 403,
        975..990 => 500,
        990..996 => 502,
        _ => 503,
    };
    match format {
        "access" => {
            let ip = rng.skewed(50_000);
            let bytes = if status == 304 { 0 } else { 200 + rng.skewed(200_000) };
            let z = (-2.0 * rng.unit().max(1e-12).ln()).sqrt() * (2.0 * std::f64::consts::PI * rng.unit()).cos();
            let rt = (-3.5 + z).exp();
            let _ = write!(
                out,
                "{}.{}.{}.{} - - [{:02}/{}/2026:{:02}:{:02}:{:02} +0000] \"{} /{}/{} HTTP/1.1\" {} {} \"-\" \"{}\" {:.3}",
                10 + (ip >> 16) % 200,
                (ip >> 8) & 255,
                ip & 255,
                1 + ip % 253,
                day,
                MONTHS[9],
                h,
                m,
                s,
                rng.pick(&["GET", "GET", "GET", "POST", "PUT", "DELETE"]),
                SECTIONS[rng.skewed(SECTIONS.len() as u64) as usize],
                rng.skewed(200),
                status,
                bytes,
                AGENTS[rng.skewed(AGENTS.len() as u64) as usize],
                rt
            );
        }
        "syslog" => {
            let pri = 8 * 3 + [3u64, 4, 5, 6, 7][rng.below(5) as usize];
            let _ = write!(
                out,
                "<{pri}>{} {:>2} {:02}:{:02}:{:02} {} {}[{}]: {}",
                MONTHS[9],
                day,
                h,
                m,
                s,
                rng.pick(&HOSTS),
                rng.pick(&APPS),
                1000 + rng.below(9000),
                rng.pick(&MESSAGES)
            );
        }
        "app" => {
            // The layout of `data/custom/app.log` (a user-defined regex format).
            let _ = write!(
                out,
                "2026-10-{day:02} {h:02}:{m:02}:{s:02}.{:03} [{}] {}: {}",
                rng.below(1000),
                rng.pick(&["DEBUG", "INFO", "INFO", "INFO", "WARN", "ERROR"]),
                rng.pick(&APPS),
                rng.pick(&MESSAGES)
            );
        }
        "json" => {
            let _ = write!(
                out,
                r#"{{"ts":"2026-10-{day:02}T{h:02}:{m:02}:{s:02}Z","level":"{}","service":"{}","status":{status},"duration_ms":{:.2},"msg":"{}"}}"#,
                rng.pick(&LEVELS),
                rng.pick(&APPS),
                rng.unit() * 500.0,
                rng.pick(&MESSAGES)
            );
        }
        _ => {
            let _ = write!(
                out,
                "ts=2026-10-{day:02}T{h:02}:{m:02}:{s:02}Z level={} service={} status={status} duration_ms={:.2} msg=\"{}\"",
                rng.pick(&LEVELS),
                rng.pick(&APPS),
                rng.unit() * 500.0,
                rng.pick(&MESSAGES)
            );
        }
    }
}

/// Writes about `bytes` bytes of `format` lines to `out` (`-` is stdout); every
/// `malformed_every`-th line (if not 0) is garbage that must end up as a reject.
fn generate(format: &str, bytes: u64, malformed_every: u64, seed: u64, out: &Path) -> anyhow::Result<()> {
    let format = match format {
        "access" | "combined" | "nginx" => "access",
        "syslog" | "json" | "logfmt" | "app" => format,
        other => bail!("gen: unknown format {other:?} (access, syslog, json, logfmt, app)"),
    };
    let sink: Box<dyn Write> = if out == Path::new("-") {
        Box::new(std::io::stdout().lock())
    } else {
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        Box::new(File::create(out).with_context(|| format!("cannot create {}", out.display()))?)
    };
    let mut w = BufWriter::with_capacity(1 << 20, sink);
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let (mut written, mut t, mut n) = (0u64, 0u64, 0u64);
    let mut buf = String::with_capacity(512);
    while written < bytes {
        n += 1;
        if rng.below(4) == 0 {
            t += 1;
        }
        buf.clear();
        if malformed_every > 0 && n % malformed_every == 0 {
            let _ = write!(buf, "### malformed line {n} ###");
        } else {
            line(format, &mut rng, t, &mut buf);
        }
        buf.push('\n');
        w.write_all(buf.as_bytes())?;
        written += buf.len() as u64;
    }
    w.flush()?;
    if out != Path::new("-") {
        eprintln!("wrote {n} lines, {written} bytes of {format} to {}", out.display());
    }
    Ok(())
}
