import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPython } from '../../../support/python-env';

/** A run as Python MLflow's `MlflowClient` reads it back. */
export interface PythonRun {
  info: { status: string; run_name: string; start_time: number; end_time: number | null; experiment: string };
  params: Record<string, string>;
  tags: Record<string, string>;
  /** Per key: every point as `[step, timestamp, value]`, in the order MLflow returns them. */
  metrics: Record<string, [number, number, number][]>;
  /** Per artifact path: the file's text. */
  artifacts: Record<string, string>;
}

const READER = `
import json, sys, tempfile, warnings
warnings.simplefilter('ignore')
from mlflow.tracking import MlflowClient
client = MlflowClient(tracking_uri=sys.argv[1])
dst = tempfile.mkdtemp()
runs = {}
for run_id in sys.argv[2:]:
    run = client.get_run(run_id)
    out = {
        'info': {'status': run.info.status, 'run_name': run.info.run_name, 'start_time': run.info.start_time,
                 'end_time': run.info.end_time, 'experiment': client.get_experiment(run.info.experiment_id).name},
        'params': run.data.params, 'tags': run.data.tags, 'metrics': {}, 'artifacts': {}}
    for key in run.data.metrics:
        out['metrics'][key] = [[m.step, m.timestamp, m.value] for m in client.get_metric_history(run_id, key)]
    def walk(path):
        for f in client.list_artifacts(run_id, path):
            if f.is_dir:
                walk(f.path)
            else:
                local = client.download_artifacts(run_id, f.path, dst)
                out['artifacts'][f.path] = open(local, encoding='utf8', errors='replace').read()
    walk(None)
    runs[run_id] = out
print(json.dumps(runs))
`;

/** Reads runs with the real MLflow client (server URI, or `file:` store with `MLFLOW_ALLOW_FILE_STORE=true`). */
export function readRunsWithPython(trackingUri: string, runIds: string[]): Record<string, PythonRun> {
  const out = runPython(READER, [trackingUri, ...runIds], {
    MLFLOW_ALLOW_FILE_STORE: 'true',
    MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR: 'false',
    MLFLOW_TRACKING_TOKEN: '',
    MLFLOW_TRACKING_USERNAME: '',
    MLFLOW_TRACKING_PASSWORD: '',
  });
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, PythonRun>;
}

/** A fresh temporary folder. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `shnet-${prefix}-`));
}
