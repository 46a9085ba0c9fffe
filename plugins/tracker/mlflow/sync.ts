import { UsageError } from 'shnet';
import { connect } from './connection';
import { type DeliveryReport, deliverRun } from './deliver-run';
import { FileStore, type StoredRun } from './file-store';
import { MlflowRestClient, type RestClientOptions } from './rest-client';

/**
 * Delivers local runs to a server: the ones named by `runIds` (local ids), or every run of the store. Runs already fully
 * delivered cost one cursor read and send nothing. Parents go before their children (oldest first).
 * Used by `shnet sync` after offline logging or an outage longer than the tracker waited.
 */
export async function syncRuns(localStore: string, serverUri: string, runIds?: readonly string[], options: RestClientOptions = {}): Promise<DeliveryReport[]> {
  const store = new FileStore(localStore);
  const client = new MlflowRestClient(connect(serverUri), options);
  let runs: StoredRun[];
  if (runIds && runIds.length > 0) {
    runs = runIds.map((runId) => {
      const run = store.findRun(runId);
      if (!run) throw new UsageError(`run ${runId} is not in the local store ${store.root}`);
      return run;
    });
  } else {
    runs = store.listExperiments().flatMap(({ experimentId }) => store.listRuns(experimentId));
  }
  runs.sort((a, b) => store.readRunMeta(a).startTime - store.readRunMeta(b).startTime);
  const reports: DeliveryReport[] = [];
  for (const run of runs) reports.push(await deliverRun(store, run, client));
  return reports;
}
