"""The PyTorch peer of shnet's 3SHNet image encoder, for the benchmark (bench/torch-peer.ts drives it).

Written from the model description (docs/model.md; the encoder of recipes/coco/3shnet-region.yaml at D = 1024):
the same blocks, shapes and parameter count (11,615,008) as shnet's encoder, computed the way PyTorch code for this
model computes them (batch-first tensors, NCHW convolution, a packed bidirectional GRU over every row of the batch
in GPO, torch.sort for the per-dimension sort). Weights are PyTorch's default initialisation: only the time matters.

Protocol: one JSON request per line on stdin, one JSON answer per line on stdout.
  {"op": "info"}                                  -> {"torch", "threads", "parameters", "sizes", "blas"}
  {"op": "train"|"infer", "batch": B, "runs": n, "warmup": true}  -> {"ms": [n timings]}, after one untimed run
                                                     unless "warmup" is false
"train" is one forward + backward of the encoder's summed output in training mode (gradients into .grad, cleared
before each run); "infer" one forward in evaluation mode under torch.no_grad().
"""
import json
import math
import os
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

EMBED = 1024
FEATURES = 2048
REGIONS = 36
CLASSES = 133
GRID = 7
MAP = 64
KEY = 128
POSITION = 8


def sinusoid(length, width):
    """[length, width] sin/cos position code, PE[p, 2i] = sin(p / 10000^(2i/width)), PE[p, 2i+1] = cos(...)."""
    p = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    rate = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))
    code = torch.empty(length, width)
    code[:, 0::2] = torch.sin(p * rate)
    code[:, 1::2] = torch.cos(p * rate)
    return code


def length_mask(lengths, width):
    """[B, width] bool, true at the valid positions of each row."""
    return torch.arange(width).unsqueeze(0) < lengths.unsqueeze(1)


def drop_regions(regions, lengths, p=0.2):
    """VSE-infinity's size augmentation in training: each valid region is kept with probability 1 - p (at least one
    per image); kept rows first, zero-padded to the longest. Returns the new regions and lengths."""
    b, r, f = regions.shape
    keep = (torch.rand(b, r) > p) & length_mask(lengths, r)
    keep[keep.sum(1) == 0, 0] = True
    counts = keep.sum(1)
    out = regions.new_zeros(b, int(counts.max()), f)
    for i in range(b):
        out[i, : counts[i]] = regions[i][keep[i]]
    return out, counts


class TwoLayerMlp(nn.Module):
    """Linear -> BatchNorm1d over every token -> ReLU -> Linear; an output BatchNorm is held but never applied."""

    def __init__(self, inputs, hidden, outputs):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(inputs, hidden), nn.Linear(hidden, outputs)])
        self.bns = nn.ModuleList([nn.BatchNorm1d(hidden), nn.BatchNorm1d(outputs)])

    def forward(self, x):
        b, n, _ = x.shape
        h = F.relu(self.bns[0](self.layers[0](x.reshape(b * n, -1))))
        return self.layers[1](h).reshape(b, n, -1)


class SemanticHighlight(nn.Module):
    """VSeM: a sigmoid gate per region from the pooled class-score grid, then a tanh-scaled refinement."""

    def __init__(self):
        super().__init__()
        self.region_mlp = TwoLayerMlp(EMBED, EMBED // 2, EMBED)
        self.query_mlp = TwoLayerMlp(EMBED, EMBED // 2, EMBED)
        self.query_embed = nn.Linear(CLASSES, EMBED)
        self.query_norm = nn.LayerNorm(EMBED)
        self.scale = nn.Linear(EMBED, EMBED)
        self.refine = nn.Linear(EMBED, EMBED)
        self.dropout = nn.Dropout(0.1)

    def forward(self, v0, class_grid, mask):
        x = v0 + self.region_mlp(v0)
        pooled = class_grid.mean(dim=(2, 3))
        q = self.query_norm(self.dropout(F.relu(self.query_embed(pooled)))).unsqueeze(1)
        q = q + self.query_mlp(q)
        m = mask.unsqueeze(2).float()
        logits = (x * q).sum(2, keepdim=True) / math.sqrt(EMBED)
        weighted = x * torch.sigmoid(logits.masked_fill(m == 0, -math.inf))
        return F.relu(self.refine(weighted * torch.tanh(self.scale(weighted)) + q * m))


class SpatialHighlight(nn.Module):
    """VSpM: region queries attend over the 64x64 conv-embedded label map (with a position code)."""

    def __init__(self):
        super().__init__()
        self.query_mlp = TwoLayerMlp(EMBED, EMBED // 2, KEY)
        self.conv = nn.Conv2d(1 + POSITION, KEY, kernel_size=3, padding=1)
        self.conv_norm = nn.BatchNorm2d(KEY)
        self.output_mlp = TwoLayerMlp(KEY, EMBED // 2, EMBED)
        self.lam = 4.0

    def forward(self, v0, label_map, mask):
        b = v0.shape[0]
        queries = self.query_mlp(v0)
        code = sinusoid(MAP * MAP, POSITION)
        maps = torch.cat([label_map.reshape(b, MAP * MAP, 1), code.expand(b, -1, -1)], 2)
        maps = maps.reshape(b, MAP, MAP, 1 + POSITION).permute(0, 3, 1, 2)
        keys = F.relu(self.conv_norm(self.conv(maps))).reshape(b, KEY, MAP * MAP)
        attention = torch.softmax(self.lam * torch.matmul(queries, keys) / math.sqrt(KEY), dim=-1)
        context = torch.matmul(attention, keys.transpose(1, 2))
        return self.output_mlp(context * mask.unsqueeze(2).float() + queries)


class Gpo(nn.Module):
    """GPO: per-dimension descending sort of the tokens, weighted by a BiGRU over position codes of each row."""

    def __init__(self, code=32, hidden=32):
        super().__init__()
        self.code = code
        self.gru = nn.GRU(code, hidden, 1, batch_first=True, bidirectional=True)
        self.linear = nn.Linear(hidden, 1, bias=False)

    def forward(self, tokens, lengths):
        width = int(lengths.max())
        mask = length_mask(lengths, width).unsqueeze(2)
        codes = sinusoid(width, self.code).expand(len(lengths), -1, -1).masked_fill(~mask, 0)
        packed = pack_padded_sequence(codes, lengths, batch_first=True, enforce_sorted=False)
        out, _ = pad_packed_sequence(self.gru(packed)[0], batch_first=True)
        half = out.shape[2] // 2
        scores = self.linear((out[:, :, :half] + out[:, :, half:]) / 2).masked_fill(~mask, -10000)
        weights = torch.softmax(scores / 0.1, 1)
        x = tokens[:, :width].masked_fill(~mask, -10000)
        ranked = x.sort(dim=1, descending=True)[0].masked_fill(~mask, 0)
        return (ranked * weights).sum(1)


class ImageEncoder(nn.Module):
    """Region dropout in training, fc + residual MLP regions, category and grid tokens, both highlights, fusion MLP,
    compacted tokens, GPO, L2."""

    def __init__(self):
        super().__init__()
        self.grid_embed = nn.Linear(CLASSES, EMBED)
        self.grid_norm = nn.LayerNorm(EMBED)
        self.category_embed = nn.Linear(CLASSES, EMBED)
        self.category_norm = nn.LayerNorm(EMBED)
        self.semantic = SemanticHighlight()
        self.spatial = SpatialHighlight()
        self.fc = nn.Linear(FEATURES, EMBED)
        self.mlp = TwoLayerMlp(FEATURES, EMBED // 2, EMBED)
        self.grid_mlp = TwoLayerMlp(EMBED, EMBED // 2, EMBED)
        self.gpo = Gpo()
        self.fusion_mlp = TwoLayerMlp(EMBED, EMBED // 2, EMBED)
        self.dropout = nn.Dropout(0.1)

    def forward(self, regions, lengths, label_map, class_grid, categories):
        if self.training:
            regions, lengths = drop_regions(regions, lengths)
        b, r, _ = regions.shape
        mask = length_mask(lengths, r)
        v0 = self.fc(regions)
        c = self.category_norm(self.dropout(F.relu(self.category_embed(categories))))
        g0 = self.grid_norm(self.dropout(F.relu(self.grid_embed(class_grid.reshape(b, CLASSES, -1).transpose(1, 2)))))
        sm = self.semantic(v0, class_grid, mask)
        sp = self.spatial(v0, label_map, mask)
        v = self.mlp(regions) + v0
        g = g0 + self.grid_mlp(g0)
        f = self.fusion_mlp(sm + sp + v)
        tokens = torch.cat([c.unsqueeze(1), v, f, g], 1)
        # Valid tokens first: [c | V_1..L | F_1..L | G | padded V | padded F], as one gather of rows.
        order = []
        for n in lengths.tolist():
            order.append([0] + [1 + i for i in range(n)] + [1 + r + i for i in range(n)]
                         + [1 + 2 * r + i for i in range(GRID * GRID)]
                         + [1 + i for i in range(n, r)] + [1 + r + i for i in range(n, r)])
        index = torch.tensor(order).unsqueeze(2).expand(-1, -1, EMBED)
        pooled = self.gpo(torch.gather(tokens, 1, index), 2 * lengths + 1 + GRID * GRID)
        return pooled / (pooled.norm(dim=1, keepdim=True) + 1e-8)


def synthetic_batch(b, seed=1):
    """Inputs of the benchmark's shapes: non-negative region features, class ids 0..132 as floats, a multi-hot."""
    g = torch.Generator().manual_seed(seed)
    return (
        torch.rand(b, REGIONS, FEATURES, generator=g),
        torch.full((b,), REGIONS, dtype=torch.int64),
        torch.randint(0, CLASSES, (b, MAP, MAP), generator=g).float(),
        torch.randn(b, CLASSES, GRID, GRID, generator=g),
        (torch.rand(b, CLASSES, generator=g) > 0.8).float(),
    )


def blas_library():
    """Which BLAS this process loaded: Debian's python3-torch calls whatever libblas.so.3 points to (the reference
    implementation unless an optimised one such as libopenblas0-pthread is installed), and it decides the speed."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "/" in line}
    except OSError:
        return "unknown"
    for marker, name in (("openblas", "OpenBLAS"), ("mkl", "MKL"), ("blis", "BLIS"), ("atlas", "ATLAS")):
        if any(marker in os.path.basename(os.path.dirname(p)) + os.path.basename(p) for p in paths):
            return name
    if any(os.path.basename(p).startswith("libblas.so") for p in paths):
        return "reference BLAS"
    return "built in"


def timed(fn, runs, warmup):
    if warmup:
        fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main():
    torch.set_num_threads(int(os.environ.get("SHNET_PEER_THREADS", os.cpu_count() or 1)))
    torch.manual_seed(0)
    model = ImageEncoder()
    batches = {}
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        if op == "info":
            answer = {
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "parameters": sum(p.numel() for p in model.parameters()),
                "sizes": sorted(p.numel() for p in model.parameters()),
                "blas": blas_library(),
            }
        else:
            b = int(request["batch"])
            batch = batches.setdefault(b, synthetic_batch(b))
            if op == "train":
                model.train()

                def step():
                    model.zero_grad(set_to_none=True)
                    model(*batch).sum().backward()

                answer = {"ms": timed(step, int(request["runs"]), request.get("warmup", True))}
            elif op == "infer":
                model.eval()

                def forward():
                    with torch.no_grad():
                        model(*batch)

                answer = {"ms": timed(forward, int(request["runs"]), request.get("warmup", True))}
            else:
                answer = {"error": f"unknown op {op!r}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
