"""A real Hugging Face Trainer LoRA run for the training-monitor proof (issue 21, item 7a/7d/7e).

A Llama-shaped causal LM is built from a config with random weights (no download), wrapped with a
peft LoRA adapter and trained by ``transformers.Trainer`` on synthetic token sequences that follow
a learnable rule (so the loss falls). ``report_to="tensorboard"`` writes event files under
``OUT/runs/``; ``trainer_state.json`` is written into each ``OUT/checkpoint-N/`` at every save and
into ``OUT/`` at the end. The Trainer prints its log dicts and its tqdm bar as users see them.

    python hf_lora.py --out DIR [--steps 300] [--lr 1e-3] [--nan-lr]   # CPU or CUDA

``--nan-lr`` trains with plain SGD at a learning rate that drives the weights, then the loss, to
NaN within a few dozen steps (logging every step), for the NaN-alert proof. Needs torch,
transformers and peft.
"""

from __future__ import annotations

import argparse
import json
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output_dir of the Trainer")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--nan-lr", action="store_true",
                        help="SGD at a learning rate that makes the loss NaN")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=64)
    parser.add_argument("--logging-steps", type=int, default=5)
    parser.add_argument("--eval-steps", type=int, default=100)
    parser.add_argument("--save-steps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--info", action="store_true",
                        help="transformers at INFO verbosity (the Trainer prints its '***** "
                        "Running training *****' banner) and peft's print_trainable_parameters()")
    args = parser.parse_args()

    import torch
    import transformers
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM, Trainer, TrainingArguments

    if args.info:
        transformers.logging.set_verbosity_info()

    torch.manual_seed(args.seed)
    vocab = 512
    config = LlamaConfig(vocab_size=vocab, hidden_size=args.hidden,
                         intermediate_size=4 * args.hidden, num_hidden_layers=args.layers,
                         num_attention_heads=max(1, args.hidden // 32),
                         num_key_value_heads=max(1, args.hidden // 32),
                         max_position_embeddings=max(128, args.seq))
    model = LlamaForCausalLM(config)
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, task_type="CAUSAL_LM",
                                             target_modules=["q_proj", "k_proj", "v_proj",
                                                             "o_proj"]))
    if args.info:
        model.print_trainable_parameters()

    class Rule(torch.utils.data.Dataset[dict[str, torch.Tensor]]):  # type: ignore[misc]
        """Sequences x[t+1] = (x[t] * 5 + 3) mod vocab from a random start: learnable."""

        def __init__(self, n: int, offset: int) -> None:
            self.n, self.offset = n, offset

        def __len__(self) -> int:
            return self.n

        def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
            g = torch.Generator().manual_seed(self.offset + i)
            x = [int(torch.randint(0, vocab, (1,), generator=g))]
            for _ in range(args.seq - 1):
                x.append((x[-1] * 5 + 3) % vocab)
            ids = torch.tensor(x)
            return {"input_ids": ids, "labels": ids.clone()}

    nan = args.nan_lr
    targs = TrainingArguments(
        output_dir=args.out, max_steps=args.steps, per_device_train_batch_size=args.batch,
        per_device_eval_batch_size=args.batch,
        learning_rate=5e4 if nan else args.lr, optim="sgd" if nan else "adamw_torch",
        max_grad_norm=0.0 if nan else 1.0, lr_scheduler_type="constant" if nan else "linear",
        logging_steps=1 if nan else args.logging_steps,
        eval_strategy="no" if nan else "steps", eval_steps=args.eval_steps,
        save_strategy="steps", save_steps=args.save_steps, report_to="tensorboard",
        seed=args.seed, dataloader_num_workers=0, disable_tqdm=False,
        use_cpu=not torch.cuda.is_available(), bf16=torch.cuda.is_available())
    trainer = Trainer(model=model, args=targs, train_dataset=Rule(args.steps * args.batch, 0),
                      eval_dataset=Rule(4 * args.batch, 10**6))
    trainer.train()
    trainer.save_state()  # OUT/trainer_state.json: the whole log_history, as each checkpoint's
    print(json.dumps({"job": "hf_lora", "steps": trainer.state.global_step,
                      "max_steps": trainer.state.max_steps}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
