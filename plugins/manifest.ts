/**
 * The built-in manifest: every plugin that ships with shnet, one registration line each. Core loads this file by
 * path (it never imports `plugins/`); external packages export a manifest of the same shape.
 */
import { type PluginManifest, shnetVersion } from 'shnet';

import { gpoAggregatorSpec } from './aggregator/gpo';
import { maxAggregatorSpec } from './aggregator/max';
import { meanAggregatorSpec } from './aggregator/mean';
import { cnnBackboneSpec } from './backbone/cnn';
import { precomputedBackboneSpec } from './backbone/precomputed';
import { semanticHighlightSpec } from './highlight/semantic';
import { spatialHighlightSpec } from './highlight/spatial';
import { shnetImageEncoderSpec } from './image-encoder/3shnet';
import { infoNceLossSpec } from './loss/infonce';
import { tripletLossSpec } from './loss/triplet';
import { adamwSpec } from './optimizer/adamw';
import { constantScheduleSpec } from './schedule/constant';
import { stepScheduleSpec } from './schedule/step';
import { groundTruthSegmenterSpec } from './segmenter/ground-truth';
import { learnedSegmenterSpec } from './segmenter/learned';
import { precomputedSegmenterSpec } from './segmenter/precomputed';
import { bertTextEncoderSpec } from './text-encoder/bert';
import { bigruTextEncoderSpec } from './text-encoder/bigru';
import { retrievalEvaluator } from './evaluator/retrieval/plugin';
import { precompCommands } from './dataset/precomp/command';
import { precompDataset } from './dataset/precomp/plugin';
import { shapesCommands, shapesDataset } from './dataset/shapes';
import { mlflowCommands, mlflowTracker } from './tracker/mlflow';
import { bullmqCommands, bullmqExecutorSpec } from './executor/bullmq';
import { localExecutorSpec } from './executor/local';

export const manifest: PluginManifest = {
  name: 'shnet-builtin',
  version: shnetVersion,
  plugins: [
    precompDataset,
    shapesDataset,
    precomputedBackboneSpec,
    cnnBackboneSpec,
    precomputedSegmenterSpec,
    groundTruthSegmenterSpec,
    learnedSegmenterSpec,
    semanticHighlightSpec,
    spatialHighlightSpec,
    gpoAggregatorSpec,
    meanAggregatorSpec,
    maxAggregatorSpec,
    shnetImageEncoderSpec,
    bigruTextEncoderSpec,
    bertTextEncoderSpec,
    tripletLossSpec,
    infoNceLossSpec,
    adamwSpec,
    stepScheduleSpec,
    constantScheduleSpec,
    retrievalEvaluator,
    mlflowTracker,
    localExecutorSpec,
    bullmqExecutorSpec,
  ],
  commands: [...mlflowCommands, ...shapesCommands, ...precompCommands, ...bullmqCommands],
};
