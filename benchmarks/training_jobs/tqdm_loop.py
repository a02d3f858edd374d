"""A plain PyTorch training loop with a tqdm bar, for the training-monitor proof (issue 21, 7c).

No framework: a small MLP learns a fixed random linear map with AdamW, the bar's postfix shows
the loss (``set_postfix(loss=...)``, the common hand-written pattern) and a line
``step N loss X`` is printed every ``--print-every`` steps. ``--sleep`` adds a fixed pause per
step so a CPU run lasts long enough to measure ETA error; ``--kill-at N`` makes the job SIGKILL
itself at step N (the crash proof, 7e).

    python tqdm_loop.py [--steps 600] [--sleep 0] [--kill-at N]

Needs torch and tqdm.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--sleep", type=float, default=0.0, help="seconds added to each step")
    parser.add_argument("--print-every", type=int, default=50)
    parser.add_argument("--kill-at", type=int, help="SIGKILL this process at step N")
    args = parser.parse_args()

    import torch
    from torch import nn
    from tqdm import tqdm

    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = nn.Sequential(nn.Linear(args.width, args.width), nn.GELU(),
                          nn.Linear(args.width, 16)).to(device)
    target = torch.randn(args.width, 16, device=device) / args.width ** 0.5
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    bar = tqdm(range(1, args.steps + 1), desc="train", unit="step")
    for step in bar:
        x = torch.randn(args.batch, args.width, device=device)
        loss = nn.functional.mse_loss(model(x), x @ target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        value = loss.item()
        bar.set_postfix(loss=f"{value:.4f}")
        if step % args.print_every == 0:
            tqdm.write(f"step {step} loss {value:.5f}")
        if args.kill_at is not None and step == args.kill_at:
            print(f"killing myself at {time.time():.6f}", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        if args.sleep:
            time.sleep(args.sleep)
    print(f"done: {args.steps} steps", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
