/**
 * Building blocks of shnet's models: PyTorch-equivalent layers (default initialisation, `state_dict` names) on
 * TensorFlow.js. Layouts differ from PyTorch where tfjs is faster; each block documents its mapping.
 */
export { Block, countTrainable, trainableVariables, type ParameterOptions } from './block';
export { uniform, normal, normalValues, defaultBound, xavierBound, constant } from './init';
export { Linear, type LinearInit } from './linear';
export { LayerNorm, BatchNorm } from './norm';
export { Mlp } from './mlp';
export { Conv2d } from './conv';
export { cellBounds, cellMeanPool } from './cell-pool';
export { BiGru, type BiGruOutput } from './gru';
export { Embedding } from './embedding';
export { dropout } from './dropout';
export { sinusoidalEncoding } from './position';
export { lengthMask, maxLength } from './mask';
export { l2Normalize } from './l2norm';
export { gelu } from './gelu';
export { scaledDotProductAttention, splitHeads, mergeHeads } from './attention';
export { clipByGlobalNorm } from './clip';
