/**
 * Damaged and hostile `.pth` files for the import tests, made from a real torch.save checkpoint or written byte by
 * byte (struct-packed zip records), so that every declared size, CRC and compression method is the test's choice.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { runTorch } from './torch/torch-python';

/** The reference checkpoint's image state dict alone, bare: `module.`-prefixed keys (`prefixed`) or not. */
export function writeImageStateDict(python: string, reference: string, out: string, prefixed: boolean): void {
  runTorch(
    python,
    `import sys, collections, torch
sd = torch.load(sys.argv[1])['model'][0]
strip = sys.argv[3] == 'bare'
torch.save(collections.OrderedDict(((k[len('module.'):] if strip else k), v) for k, v in sd.items()), sys.argv[2])`,
    [reference, out, prefixed ? 'prefixed' : 'bare'],
  );
}

/** `torch.save(model.state_dict())` of the reference's VSEModel: the list [img_enc state dict, txt_enc state dict]. */
export function writeBareList(python: string, reference: string, out: string): void {
  runTorch(python, `import sys, torch\ntorch.save(torch.load(sys.argv[1])['model'], sys.argv[2])`, [reference, out]);
}

/** The file without its first `bytes` bytes, as an interrupted transfer that lost the head leaves it. */
export function writeTruncatedAtStart(file: string, out: string, bytes: number): void {
  writeFileSync(out, readFileSync(file).subarray(bytes));
}

/** The checkpoint with 16 bytes zeroed in the middle of its largest storage, every header left as it was. */
export function writeCorruptedStorage(python: string, file: string, out: string): string {
  return runTorch(
    python,
    `import sys, shutil, struct, zipfile
shutil.copy(sys.argv[1], sys.argv[2])
with zipfile.ZipFile(sys.argv[2]) as z:
    info = max((i for i in z.infolist() if '/data/' in i.filename), key=lambda i: i.file_size)
with open(sys.argv[2], 'r+b') as f:
    f.seek(info.header_offset + 26)
    name_len, extra_len = struct.unpack('<HH', f.read(4))
    f.seek(info.header_offset + 30 + name_len + extra_len + info.file_size // 2)
    f.write(bytes(16))
print(info.filename, end='')`,
    [file, out],
  );
}

/**
 * Writes zip archives record by record: each entry is (name, method, payload chunks, declared size, declared CRC),
 * and the declared values are written as given, true or not. A deflate payload is compressed chunk by chunk, so a
 * gigabyte of zeros never sits in memory.
 */
const ZIP_WRITER = `
import struct, zlib, pickle, collections, torch

class Storage:
    def __init__(self, key, numel): self.key, self.numel = key, numel

class Tensor:
    """Pickles as torch.save pickles a float32 tensor: _rebuild_tensor_v2 over a persistent storage id."""
    def __init__(self, storage, shape): self.storage, self.shape = storage, shape
    def __reduce__(self):
        stride, step = [], 1
        for d in reversed(self.shape): stride.insert(0, step); step *= d
        return (torch._utils._rebuild_tensor_v2, (self.storage, 0, tuple(self.shape), tuple(stride), False, collections.OrderedDict()))

class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        return ('storage', torch.FloatStorage, obj.key, 'cpu', obj.numel) if isinstance(obj, Storage) else None

def pickled(obj):
    import io
    buffer = io.BytesIO()
    Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()

def write_zip(path, entries):
    central = b''
    with open(path, 'wb') as f:
        for name, method, chunks, size, crc in entries:
            offset = f.tell()
            encoded = name.encode()
            f.write(struct.pack('<IHHHHHIIIHH', 0x04034b50, 20, 0, method, 0, 0, 0, 0, 0, len(encoded), 0) + encoded)
            start, real_crc, real_size = f.tell(), 0, 0
            compressor = zlib.compressobj(9, zlib.DEFLATED, -15) if method == 8 else None
            for chunk in chunks:
                real_crc, real_size = zlib.crc32(chunk, real_crc), real_size + len(chunk)
                f.write(compressor.compress(chunk) if compressor else chunk)
            if compressor: f.write(compressor.flush())
            stored = f.tell() - start
            size = real_size if size is None else size
            crc = real_crc if crc is None else crc
            declared_stored = stored if method == 8 or size == real_size else size
            f.seek(offset + 14); f.write(struct.pack('<III', crc, declared_stored, size)); f.seek(0, 2)
            central += struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 20, 20, 0, method, 0, 0, crc, declared_stored, size,
                                   len(encoded), 0, 0, 0, 0, 0, offset) + encoded
        directory = f.tell()
        f.write(central)
        f.write(struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, len(entries), len(entries), len(central), directory, 0))
`;

/**
 * A `.pth` of 1 MB whose image `fc.weight` [D, F] is a view into a deflated storage of 1 GiB of zeros. `lie`: the
 * storage declares the view's size (its pickle too) while its deflate stream still holds the gigabyte; otherwise it
 * declares the gigabyte honestly.
 */
export function writeDeflateBomb(python: string, out: string, rows: number, columns: number, lie: boolean): void {
  runTorch(
    python,
    `${ZIP_WRITER}
import sys
out, rows, columns, lie = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == 'lie'
gib = 1 << 30
numel = rows * columns if lie else gib // 4
state = collections.OrderedDict([('module.fc.weight', Tensor(Storage('0', numel), (rows, columns)))])
zeros = bytes(1 << 24)
write_zip(out, [
    ('archive/data.pkl', 0, [pickled(state)], None, None),
    ('archive/byteorder', 0, [b'little'], None, None),
    ('archive/data/0', 8, (zeros for _ in range(gib // len(zeros))), numel * 4 if lie else None, None),
])`,
    [out, String(rows), String(columns), lie ? 'lie' : 'honest'],
  );
}

/** A `.pth` whose one storage is a stored (uncompressed) entry declaring 0xfffffff0 bytes in a file of a few hundred. */
export function writeOversizedStoredEntry(python: string, out: string): void {
  runTorch(
    python,
    `${ZIP_WRITER}
import sys
state = collections.OrderedDict([('module.fc.weight', Tensor(Storage('0', 0xfffffff0 // 4), (4, 4)))])
write_zip(sys.argv[1], [
    ('archive/data.pkl', 0, [pickled(state)], None, None),
    ('archive/byteorder', 0, [b'little'], None, None),
    ('archive/data/0', 0, [bytes(64)], 0xfffffff0, None),
])`,
    [out],
  );
}
