//! Object stores on cluster nodes: a scan planned on one machine names its store by URL
//! (`file:///`, `s3://bucket`), and the executor that runs it opens that store itself, with
//! its own credentials (the standard `AWS_*` variables, as on the client).

use std::sync::{Arc, OnceLock};

use datafusion::common::{DataFusionError, Result};
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry, ObjectStoreUrl};
use object_store::ObjectStore;
use url::Url;

/// The stores of this process, made on first use from their URL and shared by every
/// session (an executor makes a runtime per session; its S3 connections should not be).
#[derive(Debug, Default)]
pub struct LogStores {
    known: DefaultObjectStoreRegistry,
}

impl LogStores {
    /// The registry of this process.
    pub fn shared() -> Arc<LogStores> {
        static STORES: OnceLock<Arc<LogStores>> = OnceLock::new();
        STORES.get_or_init(|| Arc::new(LogStores::default())).clone()
    }
}

impl ObjectStoreRegistry for LogStores {
    fn register_store(&self, url: &Url, store: Arc<dyn ObjectStore>) -> Option<Arc<dyn ObjectStore>> {
        self.known.register_store(url, store)
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        if let Ok(store) = self.known.get_store(url) {
            return Ok(store);
        }
        let root = match url.host_str() {
            Some(host) => format!("{}://{host}", url.scheme()),
            None => format!("{}://", url.scheme()),
        };
        let store_url = ObjectStoreUrl::parse(&root)?;
        let store = logfusion_datasource::store_for(&store_url).map_err(|e| DataFusionError::External(Box::new(e)))?;
        self.known.register_store(store_url.as_ref(), store.clone());
        Ok(store)
    }
}
