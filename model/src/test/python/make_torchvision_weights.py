"""Writes a small torchvision DenseNet's state_dict as safetensors, exactly as PyTorch users save one,
and a second file with an input batch and the model's eval-mode logits, for WeightsTest.

Run from the repository root:  /usr/bin/python3 model/src/test/python/make_torchvision_weights.py
"""
import os
import sys

import torch
from torchvision.models.densenet import DenseNet

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../../scripts/fixtures"))
import st  # noqa: E402  (safetensors by hand; the safetensors package is not installed here)

OUT = "model/src/test/resources/org/densenet/model"


def main():
    torch.manual_seed(11)
    model = DenseNet(growth_rate=4, block_config=(2, 2), num_init_features=8, bn_size=4, drop_rate=0, num_classes=6)
    # a few training-mode batches move the running statistics and num_batches_tracked off their defaults
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(4, 3, 32, 32))
    model.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        logits = model(x)
    st.write(os.path.join(OUT, "torchvision-tiny.safetensors"), model.state_dict())
    st.write(os.path.join(OUT, "torchvision-tiny-eval.safetensors"), {"input": x, "logits": logits},
             {"generator": f"torch {torch.__version__}, seed 11"})
    print(f"{sum(p.numel() for p in model.parameters())} parameters, logits {logits[0].tolist()}")


if __name__ == "__main__":
    main()
