#!/usr/bin/python3
"""Convert Enformer weights to scpx's HDF5 weight file.

Inputs (detected from the file name):
  *.bin / *.pt / *.pth   PyTorch state_dict (enformer-pytorch, e.g. the HuggingFace checkpoint
                         EleutherAI/enformer-official-rough/pytorch_model.bin); needs torch.
  *.safetensors          the same in safetensors form; needs the `safetensors` package.
  *.npz                  official Sonnet/TF variables keyed by their TF names
                         ('enformer/trunk/stem/conv1_d/w:0', ...), e.g. dumped with
                         np.savez(out, **{v.name: v.numpy() for v in model.variables}).
  a TF checkpoint prefix (…/variables/variables or ckpt-N) read with tf.train.load_checkpoint,
                         when tensorflow is installed.

Output: one float32 dataset per canonical enformer-pytorch state_dict key, in torch layout
(Conv1d [out, in, k], Linear [out, in], attention pool [C, C, 1, 1], relative biases
[1, H, 1, K]); root attributes `config` (JSON), `key_order`, `aliases`, `source`. `_trunk.N.`
duplicates are folded into the canonical names (and checked equal); `num_batches_tracked` is
dropped. With --tf-gammas, enformer-pytorch's precomputed/tf_gammas.pt ([2n-1, F/6], TF's own
gamma features for n = 1536) is stored as `rel_pos_gamma_table`.

The config is inferred from the tensor shapes (dim, depth, heads, key size, tower widths,
heads); --config (a JSON file such as the HuggingFace config.json) or the options override it.
Run with Debian's /usr/bin/python3 (numpy, h5py; torch for .bin).
"""
import argparse
import json
import math
import os
import re
import sys

import h5py
import numpy as np

ALIASES = {"_trunk.1.": "stem.", "_trunk.2.": "conv_tower.", "_trunk.4.": "transformer.",
           "_trunk.6.": "final_pointwise."}


def fail(msg):
    sys.stderr.write("convert_enformer_weights: error: " + msg + "\n")
    sys.exit(1)


# ---------------------------------------------------------------------------------------------
# config

def exponential_linspace_int(start, end, num, divisible_by=1):
    base = math.exp(math.log(end / start) / (num - 1))
    return [int(round(start * base ** i / divisible_by) * divisible_by) for i in range(num)]


def tower_widths(cfg):
    half = cfg["dim"] // 2
    return [half] + exponential_linspace_int(half, cfg["dim"], cfg["num_downsamples"] - 1,
                                             cfg["dim_divisible_by"])


def expected_shapes(cfg):
    """Canonical key -> shape for a config (mirrors src/model/enformer_weights.cpp)."""
    d, H, K = cfg["dim"], cfg["heads"], cfg["attn_dim_key"]
    V = cfg.get("dim_value") or d // H
    F = cfg.get("num_rel_pos_features") or d // H
    w = tower_widths(cfg)
    s = {}

    def bn(p, c):
        for n in ("weight", "bias", "running_mean", "running_var"):
            s[p + n] = [c]

    s["stem.0.weight"], s["stem.0.bias"] = [w[0], 4, 15], [w[0]]
    bn("stem.1.fn.0.", w[0])
    s["stem.1.fn.2.weight"], s["stem.1.fn.2.bias"] = [w[0], w[0], 1], [w[0]]
    s["stem.2.to_attn_logits.weight"] = [w[0], w[0], 1, 1]
    for i in range(len(w) - 1):
        p, ci, co = "conv_tower.%d." % i, w[i], w[i + 1]
        bn(p + "0.0.", ci)
        s[p + "0.2.weight"], s[p + "0.2.bias"] = [co, ci, 5], [co]
        bn(p + "1.fn.0.", co)
        s[p + "1.fn.2.weight"], s[p + "1.fn.2.bias"] = [co, co, 1], [co]
        s[p + "2.to_attn_logits.weight"] = [co, co, 1, 1]
    for j in range(cfg["depth"]):
        p = "transformer.%d." % j
        s[p + "0.fn.0.weight"] = s[p + "0.fn.0.bias"] = [d]
        a = p + "0.fn.1."
        s[a + "to_q.weight"] = s[a + "to_k.weight"] = [H * K, d]
        s[a + "to_v.weight"] = [H * V, d]
        s[a + "to_rel_k.weight"] = [H * K, F]
        s[a + "to_out.weight"], s[a + "to_out.bias"] = [d, H * V], [d]
        s[a + "rel_content_bias"] = s[a + "rel_pos_bias"] = [1, H, 1, K]
        s[p + "1.fn.0.weight"] = s[p + "1.fn.0.bias"] = [d]
        s[p + "1.fn.1.weight"], s[p + "1.fn.1.bias"] = [2 * d, d], [2 * d]
        s[p + "1.fn.4.weight"], s[p + "1.fn.4.bias"] = [d, 2 * d], [d]
    bn("final_pointwise.1.0.", d)
    s["final_pointwise.1.2.weight"], s["final_pointwise.1.2.bias"] = [2 * d, d, 1], [2 * d]
    for name, size in cfg["output_heads"].items():
        s["_heads.%s.0.weight" % name], s["_heads.%s.0.bias" % name] = [size, 2 * d], [size]
    return s


def infer_config(sd, base):
    """Fills the config from tensor shapes; values in `base` (from --config/options) win."""
    cfg = {"dim": None, "depth": None, "heads": None, "attn_dim_key": None, "dim_divisible_by": None,
           "num_downsamples": None, "seq_len": 196608, "target_length": 896, "output_heads": None}
    try:
        cfg["dim"] = int(sd["transformer.0.0.fn.0.weight"].shape[0])
        cfg["depth"] = len({int(m.group(1)) for k in sd for m in [re.match(r"transformer\.(\d+)\.", k)] if m})
        rb = sd["transformer.0.0.fn.1.rel_content_bias"].shape
        cfg["heads"], cfg["attn_dim_key"] = int(rb[1]), int(rb[3])
        blocks = sorted({int(m.group(1)) for k in sd for m in [re.match(r"conv_tower\.(\d+)\.", k)] if m})
        cfg["num_downsamples"] = len(blocks) + 1
        widths = [int(sd["stem.0.weight"].shape[0])] + [int(sd["conv_tower.%d.0.2.weight" % i].shape[0]) for i in blocks]
        cfg["output_heads"] = {m.group(1): int(sd[k].shape[0]) for k in sd
                               for m in [re.match(r"_heads\.([^.]+)\.0\.weight$", k)] if m}
    except KeyError as e:
        fail("cannot infer the config: tensor %s is missing (pass --config)" % e)
    for div in (128, 64, 32, 16, 8, 4, 2, 1):
        c = dict(cfg, dim_divisible_by=div)
        if tower_widths(c) == widths:
            cfg["dim_divisible_by"] = div
            break
    if cfg["dim_divisible_by"] is None:
        fail("the conv tower widths %s do not follow exponential_linspace_int for any dim_divisible_by" % widths)
    v = int(sd["transformer.0.0.fn.1.to_v.weight"].shape[0]) // cfg["heads"]
    if v != cfg["dim"] // cfg["heads"]:
        cfg["dim_value"] = v
    f = int(sd["transformer.0.0.fn.1.to_rel_k.weight"].shape[1])
    if f != cfg["dim"] // cfg["heads"]:
        cfg["num_rel_pos_features"] = f
    for k, val in base.items():
        if val is not None:
            cfg[k] = val
    return cfg


# ---------------------------------------------------------------------------------------------
# readers

def to_numpy(t):
    if hasattr(t, "detach"):
        t = t.detach().cpu()
        if str(t.dtype) == "torch.bfloat16":
            t = t.float()
        return t.numpy()
    return np.asarray(t)


def read_torch(path):
    try:
        import torch
    except ImportError:
        fail("reading %s needs PyTorch (Debian: apt-get install python3-torch)" % path)
    obj = torch.load(path, map_location="cpu")
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if hasattr(obj, "state_dict"):
        obj = obj.state_dict()
    return {k: to_numpy(v) for k, v in obj.items() if hasattr(v, "shape")}


def read_safetensors(path):
    try:
        from safetensors.numpy import load_file
    except ImportError:
        fail("reading %s needs the 'safetensors' package (pip install safetensors), or convert "
             "pytorch_model.bin instead" % path)
    return dict(load_file(path))


def read_tf_checkpoint(prefix):
    try:
        import tensorflow as tf
    except ImportError:
        fail("reading the TF checkpoint %s needs tensorflow; alternatively dump the variables to .npz "
             "(see docs/ENFORMER.md)" % prefix)
    r = tf.train.load_checkpoint(prefix)
    out = {}
    for name in r.get_variable_to_shape_map():
        # Object-graph checkpoints name variables '.../.ATTRIBUTES/VARIABLE_VALUE'; the Sonnet
        # module path is what the mapping below understands, so keep names that contain it.
        out[name] = r.get_tensor(name)
    return out


def tf_to_torch(tf_vars):
    """Maps official Sonnet/TF variable names to enformer-pytorch keys (layouts as tf_to_torch.py)."""
    v = {}
    for k, a in tf_vars.items():
        k = k.replace("/.ATTRIBUTES/VARIABLE_VALUE", "")
        k = re.sub(r":0$", "", k)
        i = k.find("enformer/")
        if i < 0:
            continue
        v[k[i:]] = np.asarray(a)
    sd = {}

    def need(name):
        if name not in v:
            fail("TF variable %s is missing" % name)
        return v[name]

    def conv(dst, src):
        sd[dst + "weight"] = np.transpose(need(src + "w"), (2, 1, 0))  # [k, i, o] -> [o, i, k]
        sd[dst + "bias"] = need(src + "b")

    def bn(dst, src):
        sd[dst + "weight"] = need(src + "scale")
        sd[dst + "bias"] = need(src + "offset")
        sd[dst + "running_mean"] = need(src + "moving_mean/average").reshape(-1)
        sd[dst + "running_var"] = need(src + "moving_variance/average").reshape(-1)

    def linear(dst, src, bias=True):
        sd[dst + "weight"] = np.transpose(need(src + "w"))
        if bias:
            sd[dst + "bias"] = need(src + "b")

    def pool(dst, src):
        w = need(src)
        sd[dst] = np.transpose(w)[:, :, None, None]

    t = "enformer/trunk/"
    conv("stem.0.", t + "stem/conv1_d/")
    bn("stem.1.fn.0.", t + "stem/pointwise_conv_block/cross_replica_batch_norm/")
    conv("stem.1.fn.2.", t + "stem/pointwise_conv_block/conv1_d/")
    pool("stem.2.to_attn_logits.weight", t + "stem/softmax_pooling/linear/w")
    i = 0
    while t + "conv_tower/conv_tower_block_%d/conv_block/conv1_d/w" % i in v:
        b = t + "conv_tower/conv_tower_block_%d/" % i
        bn("conv_tower.%d.0.0." % i, b + "conv_block/cross_replica_batch_norm/")
        conv("conv_tower.%d.0.2." % i, b + "conv_block/conv1_d/")
        bn("conv_tower.%d.1.fn.0." % i, b + "pointwise_conv_block/cross_replica_batch_norm/")
        conv("conv_tower.%d.1.fn.2." % i, b + "pointwise_conv_block/conv1_d/")
        pool("conv_tower.%d.2.to_attn_logits.weight" % i, b + "softmax_pooling/linear/w")
        i += 1
    j = 0
    while t + "transformer/transformer_block_%d/mha/layer_norm/scale" % j in v:
        b = t + "transformer/transformer_block_%d/" % j
        # The attention module's own name carries an index that restarts per model build; take
        # whichever attention_* scope sits under this block.
        scopes = sorted({m.group(1) for k in v for m in [re.match(re.escape(b) + r"mha/(attention_\d+)/", k)] if m})
        if len(scopes) != 1:
            fail("transformer block %d: expected one mha/attention_* scope, found %s" % (j, scopes))
        a = b + "mha/" + scopes[0] + "/"
        p = "transformer.%d." % j
        sd[p + "0.fn.0.weight"] = need(b + "mha/layer_norm/scale")
        sd[p + "0.fn.0.bias"] = need(b + "mha/layer_norm/offset")
        linear(p + "0.fn.1.to_q.", a + "q_layer/", bias=False)
        linear(p + "0.fn.1.to_k.", a + "k_layer/", bias=False)
        linear(p + "0.fn.1.to_v.", a + "v_layer/", bias=False)
        linear(p + "0.fn.1.to_rel_k.", a + "r_k_layer/", bias=False)
        linear(p + "0.fn.1.to_out.", a + "embedding_layer/")
        sd[p + "0.fn.1.rel_content_bias"] = need(a + "r_w_bias")
        sd[p + "0.fn.1.rel_pos_bias"] = need(a + "r_r_bias")
        sd[p + "1.fn.0.weight"] = need(b + "mlp/layer_norm/scale")
        sd[p + "1.fn.0.bias"] = need(b + "mlp/layer_norm/offset")
        # Sonnet names the two MLP linears linear/linear_1 (project_in/out in edited copies).
        first = "mlp/project_in/" if b + "mlp/project_in/w" in v else "mlp/linear/"
        second = "mlp/project_out/" if b + "mlp/project_out/w" in v else "mlp/linear_1/"
        linear(p + "1.fn.1.", b + first)
        linear(p + "1.fn.4.", b + second)
        j += 1
    bn("final_pointwise.1.0.", t + "final_pointwise/conv_block/cross_replica_batch_norm/")
    conv("final_pointwise.1.2.", t + "final_pointwise/conv_block/conv1_d/")
    for k in sorted(v):
        m = re.match(r"enformer/heads/head_([^/]+)/linear/w$", k)
        if m:
            linear("_heads.%s.0." % m.group(1), "enformer/heads/head_%s/linear/" % m.group(1))
    return sd


def canonicalise(raw):
    """Strips wrapper prefixes, folds _trunk aliases, drops num_batches_tracked."""
    sd = {}
    for k, a in raw.items():
        for prefix in ("module.", "model.", "enformer."):
            if k.startswith(prefix) and not k.startswith("enformer/"):
                k = k[len(prefix):]
        if k.endswith("num_batches_tracked"):
            continue
        for alias, canon in ALIASES.items():
            if k.startswith(alias):
                k = canon + k[len(alias):]
        a = np.asarray(a)
        if k in sd:
            if sd[k].shape != a.shape or not np.array_equal(sd[k], a):
                fail("%s and its _trunk alias differ" % k)
            continue
        sd[k] = a
    return sd


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", help="pytorch_model.bin | model.safetensors | variables.npz | TF checkpoint prefix")
    ap.add_argument("output", help="output HDF5 weight file")
    ap.add_argument("--config", help="JSON config (e.g. HuggingFace config.json); default: inferred from shapes")
    ap.add_argument("--seq-len", type=int, help="input length in bp stored in the config (default 196608)")
    ap.add_argument("--target-length", type=int, help="output bins (default 896)")
    ap.add_argument("--tf-gammas", help="enformer-pytorch precomputed/tf_gammas.pt: store as rel_pos_gamma_table")
    ap.add_argument("--format", choices=["torch", "safetensors", "tf-npz", "tf-checkpoint"],
                    help="input format (default: from the file name)")
    args = ap.parse_args(argv)

    fmt = args.format
    if fmt is None:
        low = args.input.lower()
        if low.endswith(".safetensors"):
            fmt = "safetensors"
        elif low.endswith(".npz"):
            fmt = "tf-npz"
        elif low.endswith((".bin", ".pt", ".pth", ".ckpt")) and os.path.isfile(args.input):
            fmt = "torch"
        elif os.path.exists(args.input + ".index"):
            fmt = "tf-checkpoint"
        else:
            fail("cannot tell the format of %s (use --format)" % args.input)
    if fmt != "tf-checkpoint" and not os.path.isfile(args.input):
        fail("no such file: %s" % args.input)

    if fmt == "torch":
        raw = read_torch(args.input)
    elif fmt == "safetensors":
        raw = read_safetensors(args.input)
    elif fmt == "tf-npz":
        raw = tf_to_torch(dict(np.load(args.input)))
    else:
        raw = tf_to_torch(read_tf_checkpoint(args.input))
    if fmt in ("torch", "safetensors") and any(k.startswith("enformer/") for k in raw):
        raw = tf_to_torch(raw)
    sd = canonicalise(raw)

    base = {}
    if not args.config and fmt in ("torch", "safetensors"):
        # The HuggingFace repository ships config.json next to the weights.
        guess = os.path.join(os.path.dirname(os.path.abspath(args.input)), "config.json")
        if os.path.isfile(guess):
            args.config = guess
            print("using config %s" % guess)
    if args.config:
        with open(args.config) as f:
            j = json.load(f)
        for k in ("dim", "depth", "heads", "attn_dim_key", "dim_divisible_by", "num_downsamples", "seq_len",
                  "target_length", "output_heads", "dim_value", "num_rel_pos_features"):
            if k in j:
                base[k] = j[k]
    if args.seq_len:
        base["seq_len"] = args.seq_len
    if args.target_length:
        base["target_length"] = args.target_length
    cfg = infer_config(sd, base)

    want = expected_shapes(cfg)
    missing = [k for k in want if k not in sd]
    if missing:
        fail("%d tensor(s) missing for config %s, e.g. %s" % (len(missing), json.dumps(cfg), ", ".join(missing[:5])))
    for k, shape in want.items():
        if list(sd[k].shape) != shape:
            fail("tensor %s has shape %s, expected %s for config %s" % (k, list(sd[k].shape), shape, json.dumps(cfg)))
    extra = sorted(set(sd) - set(want))
    if extra:
        sys.stderr.write("convert_enformer_weights: ignoring %d tensor(s) not in the model, e.g. %s\n"
                         % (len(extra), ", ".join(extra[:5])))

    gamma = None
    if args.tf_gammas:
        try:
            import torch
        except ImportError:
            fail("--tf-gammas needs PyTorch")
        gamma = to_numpy(torch.load(args.tf_gammas, map_location="cpu"))
        F = cfg.get("num_rel_pos_features") or cfg["dim"] // cfg["heads"]
        if gamma.ndim != 2 or gamma.shape[1] != F // 6 or gamma.shape[0] % 2 == 0:
            fail("--tf-gammas: shape %s is not [2n-1, %d]" % (list(gamma.shape), F // 6))

    tmp = args.output + ".tmp-convert"
    with h5py.File(tmp, "w", track_order=True) as f:
        for k in want:
            f.create_dataset(k, data=np.ascontiguousarray(sd[k], dtype=np.float32))
        if gamma is not None:
            f.create_dataset("rel_pos_gamma_table", data=np.ascontiguousarray(gamma, dtype=np.float32))
        f.attrs["config"] = json.dumps(cfg)
        f.attrs["key_order"] = json.dumps(list(want))
        f.attrs["aliases"] = json.dumps(ALIASES)
        f.attrs["source"] = "%s (%s)" % (os.path.abspath(args.input), fmt)
    os.replace(tmp, args.output)
    n = sum(int(np.prod(s)) for s in want.values())
    print("wrote %s: %d tensors, %d parameters, config %s" % (args.output, len(want), n, json.dumps(cfg)))


if __name__ == "__main__":
    main()
