/**
 * PyTorch checkpoints without Python: a zip reader, a safe pickle machine with an allow-list, and strided tensor
 * gathering. `readTorchFile` is the entry point.
 */
export { readTorchFile, openTorchFile, flattenTensors, toPlain, TorchTensorRef, type OpenTorchFile, type TorchFile } from './torch-file';
export { TorchTensor, FLOAT_TORCH_DTYPES, type TorchDtype } from './tensor';
export { unpickle, PickleError, type PickleGlobal, type UnpickleOptions } from './pickle';
export { ZipReader, type ZipEntry, type ZipLimits } from './zip';
