//! Running the transparency log's sequencer: in the background of `serve`,
//! and as a final round after commands that write events.

use std::sync::Arc;
use std::time::Duration;

use auditlog_merkle::NoteSigner;
use auditlog_store::Store;
use auditlog_transparency::{Round, Sequencer};

use crate::config::Loaded;
use crate::keys;

/// How often the sequencer looks for commits it was not told about (hosts'
/// units of work, other servers): well under the one-second target.
const TICK: Duration = Duration::from_millis(200);

/// The background sequencer of a server.
pub struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops after a last round, so that acknowledged events are integrated.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Starts the sequencer, woken by `commits` (which the store was opened
/// with) and every [`TICK`].
pub fn start(signer: Arc<NoteSigner>, store: Arc<dyn Store>, commits: Arc<tokio::sync::Notify>) -> Running {
    tracing::info!(origin = %signer.name(), "transparency log sequencer started");
    let wake = commits;
    let sequencer = Sequencer::new(store, signer);
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(sequencer.run(wake, TICK, async {
        let _ = rx.await;
    }));
    Running { stop, task }
}

/// The signing key of a command that is about to write events, loaded (or
/// created) before it writes anything: a key that cannot be used stops the
/// command while nothing is stored, instead of after its events are
/// committed and left pending.
pub fn signer_for_writes(loaded: &Loaded) -> anyhow::Result<Arc<NoteSigner>> {
    Ok(Arc::new(keys::load_or_create(loaded)?))
}

/// Integrates whatever is pending and signs a checkpoint, now.
pub async fn integrate_now(signer: &Arc<NoteSigner>, store: Arc<dyn Store>) -> anyhow::Result<Round> {
    Ok(Sequencer::new(store, signer.clone()).round(true).await?)
}
