//! How log tables and log scans cross the wire between client, scheduler and executors.
//!
//! The client serialises the logical plan: a [`LogTableProvider`] is not a table DataFusion
//! knows, so [`LogLogicalCodec`] writes it (format, options, files) and rebuilds it on the
//! scheduler. The scheduler plans and ships stage plans to executors: [`LogPhysicalCodec`]
//! writes log scans (`DataSourceExec` over a [`LogSource`] or a [`BlockCountSource`]) as
//! DataFusion's own `FileScanExecConf` (files, byte ranges, projection, limit) plus what that
//! leaves out ([`SourceWire`]), and [`IndexedScanExec`] as a bare tag (its inputs travel as
//! children). Everything else goes to Ballista's codecs, which handle its shuffle nodes.
//!
//! Every buffer of ours starts with [`MAGIC`] and a kind byte, so a buffer of Ballista's is
//! never mistaken for ours (Ballista's codec accepts any buffer prost can decode).

use std::sync::Arc;

use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::{DataFusionError, Result, TableReference};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Extension, LogicalPlan};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::from_proto::{parse_protobuf_file_scan_config, parse_table_schema_from_proto};
use datafusion_proto::physical_plan::to_proto::serialize_file_scan_config;
use datafusion_proto::physical_plan::{
    PhysicalExtensionCodec, PhysicalPlanDecodeContext, PhysicalProtoConverterExtension,
};
use datafusion_proto::protobuf::FileScanExecConf;
use logfusion_datasource::{
    BlockCountSource, FileWire, IndexedScanExec, LogSource, LogTableProvider, ProviderWire, SourceWire, files_wire,
    restore_files,
};
use prost::Message;
use serde::{Deserialize, Serialize};

/// The first bytes of every buffer logfusion's codecs write.
pub const MAGIC: &[u8; 8] = b"LOGFUSN1";

/// What a buffer of ours holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Kind {
    Table = 1,
    LogScan = 2,
    BlockCounts = 3,
    IndexedScan = 4,
}

impl Kind {
    fn of(byte: u8) -> Option<Kind> {
        [Kind::Table, Kind::LogScan, Kind::BlockCounts, Kind::IndexedScan].into_iter().find(|k| *k as u8 == byte)
    }
}

/// Our kind and payload, if `buf` is ours.
fn ours(buf: &[u8]) -> Option<(Kind, &[u8])> {
    let rest = buf.strip_prefix(MAGIC.as_slice())?;
    let (&kind, payload) = rest.split_first()?;
    Some((Kind::of(kind)?, payload))
}

fn start(buf: &mut Vec<u8>, kind: Kind) {
    buf.extend_from_slice(MAGIC);
    buf.push(kind as u8);
}

fn wire_error(what: &str, e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Internal(format!("logfusion cluster codec: {what}: {e}"))
}

/// Writes a `FileScanExecConf` (length-prefixed) then `extra` as JSON.
fn put_scan(buf: &mut Vec<u8>, conf: &FileScanExecConf, extra: &impl Serialize) -> Result<()> {
    let conf = conf.encode_to_vec();
    buf.extend_from_slice(&(conf.len() as u64).to_le_bytes());
    buf.extend_from_slice(&conf);
    serde_json::to_writer(buf, extra).map_err(|e| wire_error("encoding a scan", e))
}

/// Reads what [`put_scan`] wrote.
fn get_scan<T: for<'de> Deserialize<'de>>(payload: &[u8]) -> Result<(FileScanExecConf, T)> {
    let (len, rest) = payload.split_at_checked(8).ok_or_else(|| wire_error("decoding a scan", "truncated"))?;
    let len = u64::from_le_bytes(len.try_into().map_err(|e| wire_error("decoding a scan", e))?) as usize;
    let (conf, extra) = rest.split_at_checked(len).ok_or_else(|| wire_error("decoding a scan", "truncated"))?;
    let conf = FileScanExecConf::decode(conf).map_err(|e| wire_error("decoding a scan", e))?;
    let extra = serde_json::from_slice(extra).map_err(|e| wire_error("decoding a scan", e))?;
    Ok((conf, extra))
}

/// The logical codec: log tables, then Ballista's.
#[derive(Debug, Default)]
pub struct LogLogicalCodec {
    ballista: BallistaLogicalExtensionCodec,
}

impl LogicalExtensionCodec for LogLogicalCodec {
    fn try_decode(&self, buf: &[u8], inputs: &[LogicalPlan], ctx: &TaskContext) -> Result<Extension> {
        self.ballista.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        match ours(buf) {
            Some((Kind::Table, payload)) => {
                let wire: ProviderWire =
                    serde_json::from_slice(payload).map_err(|e| wire_error("decoding a table", e))?;
                let provider = LogTableProvider::from_wire(wire)?;
                if provider.schema().fields() != schema.fields() {
                    return Err(wire_error(&format!("table {table_ref}"), "its schema differs from the plan's"));
                }
                Ok(Arc::new(provider))
            }
            _ => self.ballista.try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        match node.downcast_ref::<LogTableProvider>() {
            Some(provider) => {
                start(buf, Kind::Table);
                serde_json::to_writer(buf, &provider.to_wire()).map_err(|e| wire_error("encoding a table", e))
            }
            None => self.ballista.try_encode_table_provider(table_ref, node, buf),
        }
    }
}

/// What a block-count scan needs beyond `FileScanExecConf`.
#[derive(Debug, Serialize, Deserialize)]
struct BlockCountWire {
    table: String,
    files: Vec<FileWire>,
}

/// The physical codec: log scans, block counts and indexed scans, then Ballista's nodes.
#[derive(Debug, Default)]
pub struct LogPhysicalCodec {
    ballista: BallistaPhysicalExtensionCodec,
}

impl PhysicalExtensionCodec for LogPhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Some((kind, payload)) = ours(buf) else {
            return self.ballista.try_decode(buf, inputs, ctx, converter);
        };
        let decode_ctx = PhysicalPlanDecodeContext::new(ctx, self);
        match kind {
            Kind::LogScan => {
                let (conf, wire): (_, SourceWire) = get_scan(payload)?;
                let source = wire.source(parse_table_schema_from_proto(&conf)?)?;
                let mut config = parse_protobuf_file_scan_config(&conf, &decode_ctx, converter, Arc::new(source))?;
                wire.restore_files(&mut config)?;
                Ok(DataSourceExec::from_data_source(config))
            }
            Kind::BlockCounts => {
                let (conf, wire): (_, BlockCountWire) = get_scan(payload)?;
                let source = Arc::new(BlockCountSource::new(wire.table));
                let mut config = parse_protobuf_file_scan_config(&conf, &decode_ctx, converter, source)?;
                restore_files(&wire.files, &mut config.file_groups)?;
                Ok(DataSourceExec::from_data_source(config))
            }
            Kind::IndexedScan => match inputs {
                [scan, counts] => Ok(Arc::new(IndexedScanExec::new(scan.clone(), counts.clone()))),
                _ => Err(wire_error("decoding an indexed scan", format!("{} inputs instead of 2", inputs.len()))),
            },
            Kind::Table => Err(wire_error("decoding a plan", "a table where a plan node was expected")),
        }
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        if node.downcast_ref::<IndexedScanExec>().is_some() {
            start(buf, Kind::IndexedScan);
            return Ok(());
        }
        if let Some(exec) = node.downcast_ref::<DataSourceExec>() {
            if let Some((config, source)) = exec.downcast_to_file_source::<LogSource>() {
                let conf = serialize_file_scan_config(config, self, converter)?;
                start(buf, Kind::LogScan);
                return put_scan(buf, &conf, &SourceWire::of(source, config));
            }
            if let Some((config, source)) = exec.downcast_to_file_source::<BlockCountSource>() {
                let conf = serialize_file_scan_config(config, self, converter)?;
                let wire = BlockCountWire { table: source.table().to_string(), files: files_wire(&config.file_groups) };
                start(buf, Kind::BlockCounts);
                return put_scan(buf, &conf, &wire);
            }
        }
        self.ballista.try_encode(node, buf, converter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::physical_plan::{collect, displayable};
    use datafusion_proto::bytes::{
        logical_plan_from_bytes_with_extension_codec, logical_plan_to_bytes_with_extension_codec,
        physical_plan_from_bytes_with_extension_codec, physical_plan_to_bytes_with_extension_codec,
    };
    use logfusion_engine::{Environment, EnvironmentOptions};

    /// Logs of every kind a plan must carry: a plain file split into ranges, a gzip file, and
    /// a member of a tar archive.
    fn environment(dir: &std::path::Path) -> Environment {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let access = repo.join("data/samples/access");
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs).unwrap();
        let text = std::fs::read_to_string(access.join("access.log")).unwrap();
        std::fs::write(logs.join("big.log"), text.repeat(400)).unwrap();
        std::fs::copy(access.join("access-old.log.gz"), logs.join("old.log.gz")).unwrap();
        let tar = std::process::Command::new("tar")
            .arg("-cf")
            .arg(logs.join("rotated.tar"))
            .arg("-C")
            .arg(&access)
            .arg("access.log")
            .status()
            .unwrap();
        assert!(tar.success());
        let config = dir.join("config.yaml");
        std::fs::write(&config, "datafusion:\n  datafusion.optimizer.repartition_file_min_size: 1\n").unwrap();
        let options = EnvironmentOptions {
            config: Some(config),
            log_dir: Some(logs.to_string_lossy().into_owned()),
            max_workers: Some(4),
            ..Default::default()
        };
        Environment::load(&options).unwrap()
    }

    const QUERIES: [&str; 4] = [
        "SELECT status, count(*) FROM access GROUP BY status ORDER BY status",
        "SELECT _file, count(*), sum(_line), max(_line) FROM access GROUP BY _file ORDER BY _file",
        "SELECT file, line, reason FROM access_rejects ORDER BY file, line",
        "SELECT file, lines, rows FROM access_profile ORDER BY file, range_start",
    ];

    #[test]
    fn logical_plans_of_log_tables_survive_the_wire() {
        let tmp = tempfile::tempdir().unwrap();
        let env = environment(tmp.path());
        let session = env.session().unwrap();
        let other = env.session().unwrap();
        let codec = LogLogicalCodec::default();
        env.runtime().block_on(async {
            for sql in QUERIES {
                let plan = session.ctx.sql(sql).await.unwrap().into_optimized_plan().unwrap();
                let bytes = logical_plan_to_bytes_with_extension_codec(&plan, &codec).unwrap();
                assert!(bytes.windows(MAGIC.len()).any(|w| w == MAGIC), "the table went through our codec");
                let back = logical_plan_from_bytes_with_extension_codec(&bytes, &other.ctx.task_ctx(), &codec).unwrap();
                assert_eq!(back.display_indent().to_string(), plan.display_indent().to_string(), "{sql}");
            }
        });
    }

    #[test]
    fn physical_plans_of_log_scans_survive_the_wire_and_run_alike() {
        let tmp = tempfile::tempdir().unwrap();
        let env = environment(tmp.path());
        let settings = env.settings.clone().with_option("logfusion.cluster", true);
        let session = env.session_with(&settings).unwrap();
        let codec = LogPhysicalCodec::default();
        env.runtime().block_on(async {
            for sql in QUERIES {
                let plan = session.ctx.sql(sql).await.unwrap().create_physical_plan().await.unwrap();
                let text = displayable(plan.as_ref()).indent(true).to_string();
                let numbered = !sql.starts_with("SELECT status");
                assert_eq!(text.contains("IndexedScanExec"), numbered, "numbered scans count lines in a stage: {text}");
                let bytes = physical_plan_to_bytes_with_extension_codec(plan.clone(), &codec).unwrap();
                let back =
                    physical_plan_from_bytes_with_extension_codec(&bytes, &session.ctx.task_ctx(), &codec).unwrap();
                assert_eq!(displayable(back.as_ref()).indent(true).to_string(), text, "{sql}");
                let want = collect(plan, session.ctx.task_ctx()).await.unwrap();
                let got = collect(back, session.ctx.task_ctx()).await.unwrap();
                let show = |b: &[datafusion::arrow::array::RecordBatch]| {
                    datafusion::arrow::util::pretty::pretty_format_batches(b).unwrap().to_string()
                };
                assert_eq!(show(&got), show(&want), "{sql}");
                if sql.contains("file") {
                    assert!(show(&want).contains("rotated.tar!access.log"), "the archive member was read: {sql}");
                }
            }
        });
    }

    #[test]
    fn buffers_of_others_are_not_taken_for_ours() {
        assert!(ours(b"LOGFUSN1\x02{}").is_some());
        assert!(ours(b"LOGFUSN1\x09{}").is_none(), "an unknown kind");
        assert!(ours(b"\x0a\x05hello").is_none(), "a protobuf of Ballista's");
        assert!(get_scan::<serde_json::Value>(b"\xff\xff").is_err(), "a truncated scan is an error, not a panic");
    }
}
