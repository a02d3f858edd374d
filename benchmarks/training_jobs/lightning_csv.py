"""A real PyTorch Lightning run with CSVLogger for the training-monitor proof (issue 21, item 7b).

A small MLP regresses a fixed random linear map (the loss falls steadily); the Trainer shows its
tqdm bar, validates every epoch and writes ``OUT/lightning_logs/version_N/metrics.csv`` through
``CSVLogger`` (logging every few steps), and TensorBoard events too when ``--tensorboard``.

    python lightning_csv.py --out DIR [--epochs 4] [--batches 50]

Needs torch and pytorch-lightning.
"""

from __future__ import annotations

import argparse
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batches", type=int, default=50, help="training batches per epoch")
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--log-every", type=int, default=5)
    parser.add_argument("--bar", choices=("default", "tqdm"), default="default",
                        help="Lightning's default bar (Rich where rich is installed) or tqdm")
    args = parser.parse_args()

    import pytorch_lightning as pl
    import torch
    from pytorch_lightning.loggers import CSVLogger
    from torch import nn

    torch.manual_seed(0)
    target = torch.randn(args.width, 8)

    def data(n: int, seed: int) -> torch.utils.data.DataLoader[tuple[torch.Tensor, ...]]:
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(n, args.width, generator=g)
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x @ target),
                                           batch_size=args.batch)

    class Net(pl.LightningModule):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(nn.Linear(args.width, 512), nn.GELU(), nn.Linear(512, 8))

        def training_step(self, batch: tuple[torch.Tensor, ...], _i: int) -> torch.Tensor:
            x, y = batch
            loss = nn.functional.mse_loss(self.body(x), y)
            self.log("train_loss", loss, prog_bar=True)
            return loss

        def validation_step(self, batch: tuple[torch.Tensor, ...], _i: int) -> None:
            x, y = batch
            self.log("val_loss", nn.functional.mse_loss(self.body(x), y), prog_bar=True)

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    bars = [pl.callbacks.TQDMProgressBar()] if args.bar == "tqdm" else []
    trainer = pl.Trainer(max_epochs=args.epochs, default_root_dir=args.out,
                         logger=CSVLogger(args.out), log_every_n_steps=args.log_every,
                         enable_checkpointing=False, accelerator="auto", devices=1,
                         callbacks=bars)
    trainer.fit(Net(), data(args.batches * args.batch, 0), data(4 * args.batch, 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
