import type { PluginKind } from '../../kinds';
import { aggregatorDriver } from './aggregator';
import { backboneDriver } from './backbone';
import { datasetDriver } from './dataset';
import type { Driver } from './driver';
import { evaluatorDriver } from './evaluator';
import { highlightDriver } from './highlight';
import { imageEncoderDriver } from './image-encoder';
import { lossDriver } from './loss';
import { optimizerDriver } from './optimizer';
import { scheduleDriver } from './schedule';
import { segmenterDriver } from './segmenter';
import { textEncoderDriver } from './text-encoder';

/**
 * The driver of each kind that has one. Kinds without a driver (tracker, executor) get the options checks only: their contracts talk to servers and processes.
 */
export const DRIVERS: Partial<Record<PluginKind, Driver>> = {
  backbone: backboneDriver,
  segmenter: segmenterDriver,
  highlight: highlightDriver,
  aggregator: aggregatorDriver,
  'image-encoder': imageEncoderDriver,
  'text-encoder': textEncoderDriver,
  loss: lossDriver,
  dataset: datasetDriver,
  evaluator: evaluatorDriver,
  optimizer: optimizerDriver,
  schedule: scheduleDriver,
};

export type { Driver, DriverContext, LightDriver, ModelDriver } from './driver';
