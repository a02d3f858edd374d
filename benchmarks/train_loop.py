"""A real PyTorch training loop to monitor: a small decoder-style transformer in bf16 on random
tokens, trained with AdamW for a fixed wall time. Used by benchmarks/monitor_device_session.sh
to produce the hardware-proof session (issue 7, item 8). Needs torch and a CUDA GPU.

Prints one line every few seconds (step, loss, tokens/s) and a final summary as JSON.
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> int:
    import torch
    from torch import nn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="training wall time")
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--seq", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--vocab", type=int, default=32000)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA GPU")
        return 1
    torch.manual_seed(0)
    device = torch.device("cuda")
    layer = nn.TransformerEncoderLayer(args.width, nhead=args.width // 64,
                                       dim_feedforward=4 * args.width, batch_first=True,
                                       norm_first=True, activation="gelu")
    model = nn.ModuleDict({
        "embed": nn.Embedding(args.vocab, args.width),
        "body": nn.TransformerEncoder(layer, args.layers, enable_nested_tensor=False),
        "head": nn.Linear(args.width, args.vocab),
    }).to(device)
    mask = nn.Transformer.generate_square_subsequent_mask(args.seq, device=device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-4, fused=True)
    params = sum(p.numel() for p in model.parameters())
    print(f"model: {params / 1e6:.0f} M parameters, batch {args.batch} x {args.seq} tokens",
          flush=True)

    start = time.monotonic()
    last_print = start
    step = 0
    tokens = 0
    loss_value = float("nan")
    while time.monotonic() - start < args.seconds:
        batch = torch.randint(0, args.vocab, (args.batch, args.seq + 1), device=device)
        inputs, targets = batch[:, :-1], batch[:, 1:]
        with torch.autocast("cuda", dtype=torch.bfloat16):
            hidden = model["body"](model["embed"](inputs), mask=mask, is_causal=True)
            logits = model["head"](hidden)
            loss = nn.functional.cross_entropy(logits.float().view(-1, args.vocab),
                                               targets.reshape(-1))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        step += 1
        tokens += args.batch * args.seq
        now = time.monotonic()
        if now - last_print >= 5.0:
            loss_value = float(loss.item())  # synchronises, so only every few seconds
            print(f"t={now - start:5.1f}s step {step} loss {loss_value:.3f} "
                  f"{tokens / (now - start):,.0f} tokens/s", flush=True)
            last_print = now
    torch.cuda.synchronize()
    wall = time.monotonic() - start
    summary = {
        "steps": step, "seconds": round(wall, 2), "tokens_per_s": round(tokens / wall),
        "final_loss": round(float(loss.item()), 4), "parameters": params,
        "max_memory_allocated_bytes": torch.cuda.max_memory_allocated(),
        "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
        "started_unix": time.time() - wall,
    }
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
