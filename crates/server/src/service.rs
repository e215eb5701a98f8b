//! The Flight SQL service: every call authenticated, every statement checked by the policy,
//! every query run in a session of its own (the caller's tables only, its own memory pool,
//! no path or URL tables) under the limits, and measured, audited and counted at its end.

use std::collections::HashMap;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::metadata::{
    SqlInfoData, SqlInfoDataBuilder, XdbcTypeInfo, XdbcTypeInfoData, XdbcTypeInfoDataBuilder,
};
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest, ActionCreatePreparedStatementResult,
    Any, CommandGetCatalogs, CommandGetDbSchemas, CommandGetSqlInfo, CommandGetTableTypes, CommandGetTables,
    CommandGetXdbcTypeInfo, CommandPreparedStatementQuery, CommandStatementQuery, DoPutPreparedStatementResult,
    Nullable, ProstMessageExt, Searchable, SqlInfo, TicketStatementQuery, XdbcDataType,
};
use arrow_flight::{
    Action, ActionType, FlightDescriptor, FlightEndpoint, FlightInfo, HandshakeRequest, HandshakeResponse, IpcMessage,
    SchemaAsIpc, Ticket,
};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::ipc::writer::IpcWriteOptions;
use datafusion::execution::context::SQLOptions;
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use futures::{Stream, StreamExt, TryStreamExt};
use logfusion_datasource::{TableProviders, register_providers};
use logfusion_engine::{Catalog, LimitsConfig, Role, Session, SessionSettings, Statement, StatementReport};
use prost::Message;
use sha2::Digest;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status, Streaming};

use crate::auth::{Authenticator, Principal};
use crate::metrics::{Metrics, Outcome};
use crate::policy::{Refusal, TableNames};
use crate::query::{Guarded, Slots, status_of};

/// The catalog and schema every table is in.
const CATALOG: &str = "datafusion";
const SCHEMA: &str = "public";
/// The custom action that re-reads the config and the sources (admin only).
pub const RELOAD_ACTION: &str = "reload";
/// Prepared statements kept at once; beyond this the oldest are closed.
const MAX_PREPARED: usize = 10_000;

/// The tables a server serves: discovered once, their providers built once.
pub struct Tables {
    /// What was discovered.
    pub catalog: Catalog,
    providers: Vec<TableProviders>,
    names: TableNames,
}

impl Tables {
    /// The tables of `catalog`, lines over `max_line_bytes` being rejects.
    pub fn new(catalog: Catalog, max_line_bytes: usize) -> logfusion_engine::Result<Tables> {
        let providers = catalog.tables.iter().map(|t| t.providers(max_line_bytes)).collect::<Result<Vec<_>, _>>()?;
        let names = TableNames::new(catalog.tables.iter().map(|t| t.name.as_str()));
        Ok(Tables { catalog, providers, names })
    }

    /// The `(name, schema)` of every table `principal` may read.
    fn readable(&self, principal: &Principal) -> Vec<(String, SchemaRef)> {
        let mut out = Vec::new();
        for p in &self.providers {
            for (name, provider) in &p.tables {
                if self.names.source_of(name).is_some_and(|s| principal.may_read(s)) {
                    out.push((name.clone(), datafusion::datasource::TableProvider::schema(provider.as_ref())));
                }
            }
        }
        out
    }
}

/// A prepared statement: its SQL and who made it.
struct PreparedStatement {
    sql: String,
    owner: String,
    created: Instant,
}

/// What the service needs besides its tables.
pub struct ServiceOptions {
    /// Session settings of each query (its `memory_limit` is the query's pool).
    pub settings: SessionSettings,
    /// The query limits.
    pub limits: LimitsConfig,
    /// Where per-query performance records go.
    pub performance_log: PathBuf,
}

/// Re-discovers the tables (and re-reads the credentials) on the `reload` action.
pub type Reloader = Box<
    dyn Fn() -> futures::future::BoxFuture<'static, logfusion_engine::Result<(Tables, Authenticator)>> + Send + Sync,
>;

/// logfusion's Flight SQL service.
pub struct LogfusionFlightSql {
    tables: RwLock<Arc<Tables>>,
    auth: RwLock<Arc<Authenticator>>,
    options: ServiceOptions,
    slots: Slots,
    metrics: Arc<Metrics>,
    prepared: Mutex<HashMap<String, PreparedStatement>>,
    sql_info: SqlInfoData,
    type_info: XdbcTypeInfoData,
    reload: Reloader,
}

impl LogfusionFlightSql {
    /// A service over `tables` for the callers of `auth`, reporting into `metrics`.
    pub fn new(
        tables: Tables,
        auth: Authenticator,
        options: ServiceOptions,
        metrics: Arc<Metrics>,
        reload: Reloader,
    ) -> Result<LogfusionFlightSql, FlightError> {
        let slots = Slots::new(options.limits.max_concurrent_queries, options.limits.queue_wait);
        Ok(LogfusionFlightSql {
            tables: RwLock::new(Arc::new(tables)),
            auth: RwLock::new(Arc::new(auth)),
            options,
            slots,
            metrics,
            prepared: Mutex::new(HashMap::new()),
            sql_info: sql_info()?,
            type_info: type_info()?,
            reload,
        })
    }

    fn tables(&self) -> Arc<Tables> {
        self.tables.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn authenticator(&self) -> Arc<Authenticator> {
        self.auth.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The caller of `request`, from its bearer token.
    fn principal<T>(&self, request: &Request<T>) -> Result<Principal, Status> {
        let header = request.metadata().get("authorization").and_then(|v| v.to_str().ok());
        self.authenticator().bearer(header).map_err(|e| {
            self.metrics.auth_failure();
            Status::unauthenticated(e.to_string())
        })
    }

    /// A fresh session for one query of `principal`: its readable tables, its own pool.
    fn session(&self, principal: &Principal, tables: &Tables) -> Result<Session, Status> {
        let session = Session::new(&self.options.settings).map_err(|e| Status::internal(e.to_string()))?;
        for providers in &tables.providers {
            let readable: Vec<_> = providers
                .tables
                .iter()
                .filter(|(name, _)| tables.names.source_of(name).is_some_and(|s| principal.may_read(s)))
                .cloned()
                .collect();
            if !readable.is_empty() {
                let subset = TableProviders { tables: readable, ..providers.clone() };
                register_providers(&session.ctx, &subset).map_err(|e| status_of(&e))?;
            }
        }
        Ok(session)
    }

    /// The session for `sql` of `principal`, once the policy allows it.
    fn checked(&self, principal: &Principal, sql: &str) -> Result<Session, Status> {
        let tables = self.tables();
        let session = self.session(principal, &tables)?;
        crate::policy::check(&session.ctx.state(), sql, principal, &tables.names)
            .map_err(|refusal| self.ended_early(principal, sql, Outcome::Denied, refusal_status(&refusal)))?;
        Ok(session)
    }

    /// Counts and audits a query that ended before it streamed anything, and passes its
    /// status on.
    fn ended_early(&self, principal: &Principal, sql: &str, outcome: Outcome, status: Status) -> Status {
        self.metrics.refused(outcome);
        tracing::info!(
            target: "logfusion::audit",
            principal = %principal.name,
            sql_sha256 = %sql_hash(sql),
            outcome = outcome.as_str(),
            error = %status.message(),
            "query"
        );
        status
    }

    /// The result schema of `sql`, planned but not run.
    async fn schema_of(&self, principal: &Principal, sql: &str) -> Result<Schema, Status> {
        let session = self.checked(principal, sql)?;
        match session.ctx.sql_with_options(sql, read_only()).await {
            Ok(df) => Ok(df.schema().as_arrow().clone()),
            Err(e) => Err(self.ended_early(principal, sql, Outcome::Error, status_of(&e))),
        }
    }

    /// Runs `sql` for `principal` and streams its result.
    async fn run(
        &self,
        principal: Principal,
        sql: String,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let session = self.checked(&principal, &sql)?;
        let slot =
            self.slots.acquire().await.map_err(|status| self.ended_early(&principal, &sql, Outcome::Busy, status))?;
        let started = Instant::now();
        let started_at = logfusion_engine::now_rfc3339();
        let planned = async {
            let df = session.ctx.sql_with_options(&sql, read_only()).await?;
            let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
            let plan = df.create_physical_plan().await?;
            let stream = execute_stream(plan.clone(), session.ctx.task_ctx())?;
            Ok::<_, datafusion::error::DataFusionError>((schema, plan, stream))
        };
        let (schema, plan, stream) = match planned.await {
            Ok(planned) => planned,
            Err(e) => return Err(self.ended_early(&principal, &sql, Outcome::Error, status_of(&e))),
        };
        self.metrics.running(true);
        let on_end = self.on_end(principal, sql, plan, schema.clone(), started, started_at, session);
        let limits = &self.options.limits;
        let guarded = Guarded::new(stream, slot, limits.query_timeout, limits.max_result_rows, on_end);
        let flight = FlightDataEncoderBuilder::new().with_schema(schema).build(guarded).map_err(Status::from);
        Ok(Response::new(Box::pin(flight)))
    }

    /// What happens when a query ends: metrics, one audit line, a performance record.
    #[expect(clippy::too_many_arguments, reason = "everything one query's end needs, gathered in one place")]
    fn on_end(
        &self,
        principal: Principal,
        sql: String,
        plan: Arc<dyn ExecutionPlan>,
        schema: SchemaRef,
        started: Instant,
        started_at: String,
        session: Session,
    ) -> crate::query::OnEnd {
        let metrics = self.metrics.clone();
        let performance_log = self.options.performance_log.clone();
        Box::new(move |outcome: Outcome, rows: u64| {
            let seconds = started.elapsed().as_secs_f64();
            let hash = sql_hash(&sql);
            let statement = Statement {
                name: format!("serve-{}", &hash[..12]),
                query: format!("serve-{}", &hash[..12]),
                index: 0,
                path: PathBuf::from("serve"),
                description: String::new(),
                sql: String::new(),
            };
            let executed = logfusion_engine::ExecutedPlan::local(&plan);
            let mut report = StatementReport::from_plan(&statement, started_at, seconds, &executed, &schema);
            report.rows_out = rows;
            report.peak_memory_bytes = session.pool.peak() as u64;
            metrics.running(false);
            metrics.query(outcome, seconds, report.bytes_read, rows);
            tracing::info!(
                target: "logfusion::audit",
                principal = %principal.name,
                sql_sha256 = %hash,
                rows,
                bytes_read = report.bytes_read,
                seconds,
                outcome = outcome.as_str(),
                "query"
            );
            let run_id = format!("serve-{}", std::process::id());
            if let Err(e) = logfusion_engine::report::append_performance_log(&performance_log, &run_id, &[], &[report])
            {
                tracing::warn!("{e}");
            }
        })
    }

    fn prepared_sql(&self, handle: &[u8], principal: &Principal) -> Result<String, Status> {
        let handle = String::from_utf8_lossy(handle);
        let prepared = self.prepared.lock().unwrap_or_else(|p| p.into_inner());
        match prepared.get(handle.as_ref()) {
            Some(p) if p.owner == principal.name => Ok(p.sql.clone()),
            _ => Err(Status::not_found("no such prepared statement (closed, or another caller's)")),
        }
    }
}

/// The SQL options of the server: no DDL, no DML, no statements (SET, transactions, …).
fn read_only() -> SQLOptions {
    SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false)
}

fn refusal_status(refusal: &Refusal) -> Status {
    match refusal {
        Refusal::Syntax(_) | Refusal::NotOne(_) | Refusal::TooDeep => Status::invalid_argument(refusal.to_string()),
        Refusal::NotReadOnly(_) | Refusal::UnknownTable(_) | Refusal::Forbidden(_) => {
            Status::permission_denied(refusal.to_string())
        }
    }
}

/// Hex SHA-256 of a statement, for audit lines (the SQL itself may hold secrets).
fn sql_hash(sql: &str) -> String {
    sha2::Sha256::digest(sql.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn sql_info() -> Result<SqlInfoData, FlightError> {
    let mut builder = SqlInfoDataBuilder::new();
    builder.append(SqlInfo::FlightSqlServerName, "logfusion");
    builder.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
    builder.append(SqlInfo::FlightSqlServerArrowVersion, "1.3");
    builder.append(SqlInfo::FlightSqlServerReadOnly, true);
    builder.append(SqlInfo::FlightSqlServerSql, true);
    builder.append(SqlInfo::FlightSqlServerSubstrait, false);
    builder.append(SqlInfo::FlightSqlServerTransaction, 0i32);
    builder.append(SqlInfo::FlightSqlServerCancel, false);
    builder.append(SqlInfo::SqlIdentifierQuoteChar, "\"");
    builder.append(SqlInfo::SqlDdlCatalog, false);
    builder.append(SqlInfo::SqlDdlSchema, false);
    builder.append(SqlInfo::SqlDdlTable, false);
    builder.append(SqlInfo::SqlIdentifierCase, 1i32); // case-insensitive, as DataFusion folds unquoted names
    builder.append(SqlInfo::SqlNullOrdering, 0i32); // nulls sorted high (DataFusion's default)
    builder.build()
}

fn type_info() -> Result<XdbcTypeInfoData, FlightError> {
    let mut builder = XdbcTypeInfoDataBuilder::new();
    for (name, data_type) in [
        ("VARCHAR", XdbcDataType::XdbcVarchar),
        ("BIGINT", XdbcDataType::XdbcBigint),
        ("INTEGER", XdbcDataType::XdbcInteger),
        ("SMALLINT", XdbcDataType::XdbcSmallint),
        ("TINYINT", XdbcDataType::XdbcTinyint),
        ("DOUBLE", XdbcDataType::XdbcDouble),
        ("BOOLEAN", XdbcDataType::XdbcBit),
        ("TIMESTAMP", XdbcDataType::XdbcTimestamp),
    ] {
        builder.append(XdbcTypeInfo {
            type_name: name.into(),
            data_type,
            column_size: None,
            literal_prefix: (name == "VARCHAR").then(|| "'".into()),
            literal_suffix: (name == "VARCHAR").then(|| "'".into()),
            create_params: None,
            nullable: Nullable::NullabilityNullable,
            case_sensitive: name == "VARCHAR",
            searchable: Searchable::Full,
            unsigned_attribute: None,
            fixed_prec_scale: false,
            auto_increment: None,
            local_type_name: Some(name.into()),
            minimum_scale: None,
            maximum_scale: None,
            sql_data_type: data_type,
            datetime_subcode: None,
            num_prec_radix: None,
            interval_precision: None,
        });
    }
    builder.build()
}

/// A FlightInfo whose one endpoint's ticket is `ticket`, for a result of `schema`.
fn flight_info(schema: &Schema, ticket: Vec<u8>, descriptor: FlightDescriptor) -> Result<Response<FlightInfo>, Status> {
    let endpoint = FlightEndpoint::new().with_ticket(Ticket::new(ticket));
    let info = FlightInfo::new()
        .try_with_schema(schema)
        .map_err(|e| Status::internal(format!("encoding the schema: {e}")))?
        .with_endpoint(endpoint)
        .with_descriptor(descriptor);
    Ok(Response::new(info))
}

type ResultStream = Pin<Box<dyn Stream<Item = Result<arrow_flight::FlightData, Status>> + Send + 'static>>;

/// One metadata batch as a Flight data stream.
fn one_batch(schema: SchemaRef, batch: Result<RecordBatch, impl Into<FlightError>>) -> ResultStream {
    let batch = batch.map_err(Into::into);
    let stream = FlightDataEncoderBuilder::new().with_schema(schema).build(futures::stream::once(async { batch }));
    Box::pin(stream.map_err(Status::from))
}

#[tonic::async_trait]
impl FlightSqlService for LogfusionFlightSql {
    type FlightService = LogfusionFlightSql;

    async fn do_handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>>, Status> {
        let header = request.metadata().get("authorization").and_then(|v| v.to_str().ok());
        let (principal, token) = self.authenticator().login(header).map_err(|e| {
            self.metrics.auth_failure();
            Status::unauthenticated(e.to_string())
        })?;
        tracing::info!(target: "logfusion::audit", principal = %principal.name, "login");
        let bearer = MetadataValue::try_from(format!("Bearer {token}")).map_err(|_| Status::internal("token"))?;
        let reply = HandshakeResponse { protocol_version: 0, payload: token.into_bytes().into() };
        let mut response: Response<Pin<Box<dyn Stream<Item = _> + Send>>> =
            Response::new(Box::pin(futures::stream::iter([Ok(reply)])));
        response.metadata_mut().insert("authorization", bearer);
        Ok(response)
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let principal = self.principal(&request)?;
        let schema = self.schema_of(&principal, &query.query).await?;
        let ticket = TicketStatementQuery { statement_handle: query.query.into_bytes().into() };
        flight_info(&schema, ticket.as_any().encode_to_vec(), request.into_inner())
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let principal = self.principal(&request)?;
        let sql = String::from_utf8(ticket.statement_handle.to_vec())
            .map_err(|_| Status::invalid_argument("the ticket is not a statement of this server"))?;
        self.run(principal, sql).await
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let principal = self.principal(&request)?;
        let schema = self.schema_of(&principal, &query.query).await?;
        let IpcMessage(dataset_schema) = SchemaAsIpc::new(&schema, &IpcWriteOptions::default())
            .try_into()
            .map_err(|e: datafusion::arrow::error::ArrowError| Status::internal(e.to_string()))?;
        let handle = crate::auth::new_secret();
        let mut prepared = self.prepared.lock().unwrap_or_else(|p| p.into_inner());
        if prepared.len() >= MAX_PREPARED
            && let Some(oldest) = prepared.iter().min_by_key(|(_, p)| p.created).map(|(k, _)| k.clone())
        {
            prepared.remove(&oldest);
        }
        prepared.insert(
            handle.clone(),
            PreparedStatement { sql: query.query, owner: principal.name, created: Instant::now() },
        );
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: handle.into_bytes().into(),
            dataset_schema,
            parameter_schema: Default::default(),
        })
    }

    async fn do_action_close_prepared_statement(
        &self,
        query: ActionClosePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<(), Status> {
        let principal = self.principal(&request)?;
        self.prepared_sql(&query.prepared_statement_handle, &principal)?;
        let handle = String::from_utf8_lossy(&query.prepared_statement_handle).into_owned();
        self.prepared.lock().unwrap_or_else(|p| p.into_inner()).remove(&handle);
        Ok(())
    }

    async fn get_flight_info_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let principal = self.principal(&request)?;
        let sql = self.prepared_sql(&query.prepared_statement_handle, &principal)?;
        let schema = self.schema_of(&principal, &sql).await?;
        flight_info(&schema, query.as_any().encode_to_vec(), request.into_inner())
    }

    async fn do_get_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let principal = self.principal(&request)?;
        let sql = self.prepared_sql(&query.prepared_statement_handle, &principal)?;
        self.run(principal, sql).await
    }

    async fn do_put_prepared_statement_query(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<DoPutPreparedStatementResult, Status> {
        let principal = self.principal(&request)?;
        self.prepared_sql(&query.prepared_statement_handle, &principal)?;
        let mut stream = request.into_inner();
        while let Some(data) = stream.next().await {
            if !data?.data_body.is_empty() {
                return Err(Status::invalid_argument("statements take no parameters here"));
            }
        }
        Ok(DoPutPreparedStatementResult { prepared_statement_handle: Some(query.prepared_statement_handle) })
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request)?;
        let schema = query.into_builder().schema();
        flight_info(&schema, query.as_any().encode_to_vec(), request.into_inner())
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.principal(&request)?;
        let mut builder = query.into_builder();
        builder.append(CATALOG);
        Ok(Response::new(one_batch(builder.schema(), builder.build())))
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request)?;
        let schema = query.clone().into_builder().schema();
        flight_info(&schema, query.as_any().encode_to_vec(), request.into_inner())
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.principal(&request)?;
        let mut builder = query.into_builder();
        builder.append(CATALOG, SCHEMA);
        builder.append(CATALOG, "information_schema");
        Ok(Response::new(one_batch(builder.schema(), builder.build())))
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request)?;
        let schema = query.clone().into_builder().schema();
        flight_info(&schema, query.as_any().encode_to_vec(), request.into_inner())
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let principal = self.principal(&request)?;
        let mut builder = query.into_builder();
        for (name, schema) in self.tables().readable(&principal) {
            builder.append(CATALOG, SCHEMA, name, "TABLE", &schema).map_err(Status::from)?;
        }
        Ok(Response::new(one_batch(builder.schema(), builder.build())))
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request)?;
        let schema = query.into_builder().schema();
        flight_info(&schema, query.as_any().encode_to_vec(), request.into_inner())
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.principal(&request)?;
        let mut builder = query.into_builder();
        builder.append("TABLE");
        Ok(Response::new(one_batch(builder.schema(), builder.build())))
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request)?;
        let schema = query.clone().into_builder(&self.sql_info).schema();
        flight_info(&schema, query.as_any().encode_to_vec(), request.into_inner())
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.principal(&request)?;
        let builder = query.into_builder(&self.sql_info);
        Ok(Response::new(one_batch(builder.schema(), builder.build())))
    }

    async fn get_flight_info_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request)?;
        let schema = query.into_builder(&self.type_info).schema();
        flight_info(&schema, query.as_any().encode_to_vec(), request.into_inner())
    }

    async fn do_get_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.principal(&request)?;
        let builder = query.into_builder(&self.type_info);
        Ok(Response::new(one_batch(builder.schema(), builder.build())))
    }

    async fn do_get_fallback(
        &self,
        request: Request<Ticket>,
        message: Any,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.principal(&request)?;
        Err(Status::unimplemented(format!("this server does not answer {}", message.type_url)))
    }

    async fn do_action_fallback(
        &self,
        request: Request<Action>,
    ) -> Result<Response<<Self as FlightService>::DoActionStream>, Status> {
        let principal = self.principal(&request)?;
        if request.get_ref().r#type != RELOAD_ACTION {
            return Err(Status::invalid_argument(format!("unknown action {:?}", request.get_ref().r#type)));
        }
        if principal.role != Role::Admin {
            return Err(Status::permission_denied("reload needs an admin token"));
        }
        let (tables, auth) = (self.reload)().await.map_err(|e| Status::failed_precondition(e.to_string()))?;
        let summary = format!("{} tables", tables.catalog.tables.len());
        *self.tables.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(tables);
        *self.auth.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(auth);
        tracing::info!(target: "logfusion::audit", principal = %principal.name, "reload: {summary}");
        let result = arrow_flight::Result { body: summary.into_bytes().into() };
        Ok(Response::new(Box::pin(futures::stream::iter([Ok(result)]))))
    }

    async fn list_custom_actions(&self) -> Option<Vec<Result<ActionType, Status>>> {
        Some(vec![Ok(ActionType {
            r#type: RELOAD_ACTION.into(),
            description: "Read config.yaml and the sources again (admin)".into(),
        })])
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}
