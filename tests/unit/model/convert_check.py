#!/usr/bin/python3
"""CTest driver for scripts/convert_enformer_weights.py and `scpx enformer predict`.

  convert_check.py SCPX CONVERTER FIXTURE_DIR SCRATCH

1. Fixture weights -> a torch state_dict as the HF checkpoint stores it (canonical + `_trunk.*`
   duplicates + num_batches_tracked) -> torch.save -> converter -> scpx enformer predict on the
   fixture inputs: human/mouse/trunk within 1e-5 of tf/f32.
2. The same weights under official TF/Sonnet variable names and layouts (.npz) -> converter ->
   identical tensors.
3. A random small state_dict made with torch (dim 48, divisible by 8, depth 1, one head) ->
   converter (config inferred from shapes) -> scpx loads and runs it.
4. CLI errors: missing tensor / wrong shape named; onehot of a bad length explained.
Exit 77 (skipped) when torch is not importable or the fixture is absent.
"""
import json
import os
import subprocess
import sys

import h5py
import numpy as np

try:
    import torch
except ImportError:
    print("torch not available: skipped")
    sys.exit(77)

scpx, conv, fixdir, scratch = sys.argv[1:5]
if not os.path.exists(os.path.join(fixdir, "weights.h5")):
    print("no enformer fixture: skipped")
    sys.exit(77)
os.makedirs(scratch, exist_ok=True)
W = h5py.File(os.path.join(fixdir, "weights.h5"), "r")
IO = h5py.File(os.path.join(fixdir, "io.h5"), "r")
canon = {k: np.asarray(W[k]) for k in W.keys()}


def run(cmd, ok=True):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if ok and r.returncode != 0:
        print(r.stdout)
        raise SystemExit("command failed: %s" % " ".join(cmd))
    if not ok and r.returncode == 0:
        print(r.stdout)
        raise SystemExit("command should have failed: %s" % " ".join(cmd))
    return r.stdout


def predict(weights, out, extra=(), ok=True):
    return run([scpx, "enformer", "predict", "--weights", weights, "--onehot",
                os.path.join(fixdir, "io.h5") + ":/inputs/onehot", "--out", out, "--threads", "2",
                "--heads", "human,mouse"] + list(extra), ok)


# 1. HF-style torch checkpoint
sd = {}
for k, a in canon.items():
    t = torch.from_numpy(np.array(a))
    sd[k] = t
    for alias, c in {"_trunk.1.": "stem.", "_trunk.2.": "conv_tower.", "_trunk.4.": "transformer.",
                     "_trunk.6.": "final_pointwise."}.items():
        if k.startswith(c):
            sd[alias + k[len(c):]] = t
bin_path = os.path.join(scratch, "pytorch_model.bin")
torch.save(sd, bin_path)
cfg = json.loads(W.attrs["config"])
hf_config = os.path.join(scratch, "config.json")
with open(hf_config, "w") as f:  # what the HF repo ships: no seq_len
    json.dump({k: cfg[k] for k in ("dim", "depth", "heads", "attn_dim_key", "dim_divisible_by",
                                   "num_downsamples", "target_length", "output_heads")}, f)
h5_from_torch = os.path.join(scratch, "from_torch.h5")
log = run([conv, bin_path, h5_from_torch, "--seq-len", "12288"])  # finds config.json beside the .bin
print(log)
assert "using config" in log
out = os.path.join(scratch, "pred.h5")
predict(h5_from_torch, out)
P = h5py.File(out, "r")
for k in ("human", "mouse", "trunk_embedding"):
    err = float(np.abs(P[k][:] - IO["tf/f32/" + k][:]).max())
    print("converted torch checkpoint -> scpx: %s max abs err %.3g" % (k, err))
    assert P[k].dtype == np.float32
    assert err <= 1e-5, k
P.close()
G = h5py.File(h5_from_torch, "r")
assert "num_batches_tracked" not in "".join(G.keys())
assert not any(k.startswith("_trunk") for k in G.keys())

# 2. official TF variable names
tfv = {}
t = "enformer/trunk/"


def conv_tf(src, dst):
    tfv[dst + "w:0"] = np.transpose(canon[src + "weight"], (2, 1, 0))
    tfv[dst + "b:0"] = canon[src + "bias"]


def bn_tf(src, dst):
    tfv[dst + "scale:0"] = canon[src + "weight"]
    tfv[dst + "offset:0"] = canon[src + "bias"]
    tfv[dst + "moving_mean/average:0"] = canon[src + "running_mean"][None, None, :]
    tfv[dst + "moving_variance/average:0"] = canon[src + "running_var"][None, None, :]


def lin_tf(src, dst, bias=True):
    tfv[dst + "w:0"] = np.transpose(canon[src + "weight"])
    if bias:
        tfv[dst + "b:0"] = canon[src + "bias"]


conv_tf("stem.0.", t + "stem/conv1_d/")
bn_tf("stem.1.fn.0.", t + "stem/pointwise_conv_block/cross_replica_batch_norm/")
conv_tf("stem.1.fn.2.", t + "stem/pointwise_conv_block/conv1_d/")
tfv[t + "stem/softmax_pooling/linear/w:0"] = canon["stem.2.to_attn_logits.weight"][:, :, 0, 0].T
for i in range(6):
    b = t + "conv_tower/conv_tower_block_%d/" % i
    bn_tf("conv_tower.%d.0.0." % i, b + "conv_block/cross_replica_batch_norm/")
    conv_tf("conv_tower.%d.0.2." % i, b + "conv_block/conv1_d/")
    bn_tf("conv_tower.%d.1.fn.0." % i, b + "pointwise_conv_block/cross_replica_batch_norm/")
    conv_tf("conv_tower.%d.1.fn.2." % i, b + "pointwise_conv_block/conv1_d/")
    tfv[b + "softmax_pooling/linear/w:0"] = canon["conv_tower.%d.2.to_attn_logits.weight" % i][:, :, 0, 0].T
for j in range(cfg["depth"]):
    b = t + "transformer/transformer_block_%d/" % j
    a = b + "mha/attention_%d/" % (j + 7)  # any index: the converter finds the scope
    p = "transformer.%d." % j
    tfv[b + "mha/layer_norm/scale:0"] = canon[p + "0.fn.0.weight"]
    tfv[b + "mha/layer_norm/offset:0"] = canon[p + "0.fn.0.bias"]
    for n, tn in (("to_q", "q_layer"), ("to_k", "k_layer"), ("to_v", "v_layer"), ("to_rel_k", "r_k_layer")):
        lin_tf(p + "0.fn.1.%s." % n, a + tn + "/", bias=False)
    lin_tf(p + "0.fn.1.to_out.", a + "embedding_layer/")
    tfv[a + "r_w_bias:0"] = canon[p + "0.fn.1.rel_content_bias"]
    tfv[a + "r_r_bias:0"] = canon[p + "0.fn.1.rel_pos_bias"]
    tfv[b + "mlp/layer_norm/scale:0"] = canon[p + "1.fn.0.weight"]
    tfv[b + "mlp/layer_norm/offset:0"] = canon[p + "1.fn.0.bias"]
    lin_tf(p + "1.fn.1.", b + "mlp/linear/")
    lin_tf(p + "1.fn.4.", b + "mlp/linear_1/")
bn_tf("final_pointwise.1.0.", t + "final_pointwise/conv_block/cross_replica_batch_norm/")
conv_tf("final_pointwise.1.2.", t + "final_pointwise/conv_block/conv1_d/")
for h in ("human", "mouse"):
    lin_tf("_heads.%s.0." % h, "enformer/heads/head_%s/linear/" % h)
npz = os.path.join(scratch, "tf_variables.npz")
np.savez(npz, **tfv)
h5_from_tf = os.path.join(scratch, "from_tf.h5")
print(run([conv, npz, h5_from_tf, "--seq-len", "12288", "--target-length", "64"]))
T = h5py.File(h5_from_tf, "r")
for k in canon:
    if k.endswith("num_batches_tracked"):
        continue
    assert np.array_equal(T[k][:], G[k][:]), k
assert json.loads(T.attrs["config"]) == json.loads(G.attrs["config"]), (T.attrs["config"], G.attrs["config"])
print("TF-named variables convert to the same tensors and config")

# 3. random small state_dict built with torch modules' shapes
torch.manual_seed(0)
small = {"dim": 48, "depth": 1, "heads": 2, "attn_dim_key": 8, "dim_divisible_by": 8, "num_downsamples": 7,
         "target_length": 4, "output_heads": {"human": 7}}
sys.path.insert(0, os.path.dirname(conv))
import convert_enformer_weights as cew  # noqa: E402
rand = {k: torch.randn(*s) * 0.1 for k, s in cew.expected_shapes(dict(small, seq_len=1024)).items()}
for k in rand:
    if k.endswith("running_var"):
        rand[k] = rand[k].abs() + 0.5
rand["stem.1.fn.0.num_batches_tracked"] = torch.tensor(3)
os.makedirs(os.path.join(scratch, "random"), exist_ok=True)  # no config.json beside it: inferred
rand_bin = os.path.join(scratch, "random", "random.bin")
torch.save({"module." + k: v for k, v in rand.items()}, rand_bin)
rand_h5 = os.path.join(scratch, "random.h5")
print(run([conv, rand_bin, rand_h5, "--seq-len", "1024", "--target-length", "4"]))
R = h5py.File(rand_h5, "r")
inferred = json.loads(R.attrs["config"])
assert inferred["dim_divisible_by"] == 8 and inferred["heads"] == 2 and inferred["attn_dim_key"] == 8, inferred
x = np.zeros((2, 1024, 4), np.float32)
x[0, np.arange(1024), np.arange(1024) % 4] = 1
x[1, :, :] = 0.25
with h5py.File(os.path.join(scratch, "rand_in.h5"), "w") as f:
    f["seqs"] = x
rand_out = os.path.join(scratch, "rand_out.h5")
run([scpx, "enformer", "predict", "--weights", rand_h5, "--onehot", os.path.join(scratch, "rand_in.h5") + ":/seqs",
     "--out", rand_out, "--batch", "2"])
with h5py.File(rand_out, "r") as f:
    assert f["human"].shape == (2, 4, 7) and f["trunk_embedding"].shape == (2, 4, 96)
    assert np.all(np.isfinite(f["human"][:])) and np.all(f["human"][:] >= 0)
print("random torch state_dict converts and runs")

# 4. CLI errors
bad = os.path.join(scratch, "bad_missing.h5")
with h5py.File(h5_from_torch, "r") as src, h5py.File(bad, "w") as dst:
    for k in src:
        if k != "transformer.1.1.fn.4.bias":
            src.copy(k, dst)
    for a in src.attrs:
        dst.attrs[a] = src.attrs[a]
msg = predict(bad, os.path.join(scratch, "never.h5"), ok=False)
assert "transformer.1.1.fn.4.bias" in msg and "missing tensor" in msg, msg
assert not os.path.exists(os.path.join(scratch, "never.h5"))
with h5py.File(bad, "a") as f:
    f["transformer.1.1.fn.4.bias"] = np.zeros(95, np.float32)
msg = predict(bad, os.path.join(scratch, "never.h5"), ok=False)
assert "transformer.1.1.fn.4.bias" in msg and "[95]" in msg and "[96]" in msg, msg
with h5py.File(os.path.join(scratch, "short.h5"), "w") as f:
    f["x"] = np.zeros((1, 12288 - 100, 4), np.float32)
    f["y"] = np.zeros((1, 128 * 100, 4), np.float32)
    f["z"] = np.zeros((1, 12288, 5), np.float32)
msg = run([scpx, "enformer", "predict", "--weights", h5_from_torch, "--onehot",
           os.path.join(scratch, "short.h5") + ":/x", "--out", os.path.join(scratch, "never.h5")], ok=False)
assert "not a positive multiple of 128" in msg, msg
msg = run([scpx, "enformer", "predict", "--weights", h5_from_torch, "--onehot",
           os.path.join(scratch, "short.h5") + ":/y", "--out", os.path.join(scratch, "never.h5")], ok=False)
assert "configured for 12288 bp" in msg and "--seq-len 12800" in msg, msg
msg = run([scpx, "enformer", "predict", "--weights", h5_from_torch, "--onehot",
           os.path.join(scratch, "short.h5") + ":/z", "--out", os.path.join(scratch, "never.h5")], ok=False)
assert "[N, length, 4]" in msg, msg
print("CLI errors are explained")
print("OK")
