"""The estimator's Stable Diffusion sampling step against published figures (checked, never
fitted on): seconds per sampling step of the whole batch, classifier-free guidance on, the
denoising loop only, plain PyTorch eager stacks. The figures and their sources are in
``tests/data/published_sd_speed.toml``.

    python benchmarks/published_sd_speed.py      # one line per published point, then sources
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "build" / "pkgroot"))

from rigready.assess.estimate import Workload, gpu_from_entry  # noqa: E402
from rigready.assess.estimate.image import diffusion as dif  # noqa: E402
from rigready.assess.estimate.image import unet_speed  # noqa: E402
from rigready.assess.estimate.image.shapes import DIFFUSION  # noqa: E402
from rigready.assess.estimate.image.timing import dtype_peaks  # noqa: E402
from rigready.assess.names import find_gpu  # noqa: E402
from rigready.catalog.loader import load_catalog  # noqa: E402

DATA = HERE.parent / "tests" / "data" / "published_sd_speed.toml"


@dataclass(frozen=True, slots=True)
class Point:
    """One published figure and the estimate for the same job."""

    gpu: str
    model: str
    image: int
    batch: int
    published: float
    estimate: float
    source: str

    @property
    def ratio(self) -> float:
        """Estimate over published."""
        return self.estimate / self.published


def load(path: Path = DATA) -> tuple[list[Point], dict[str, dict[str, str]]]:
    """Every published point with the estimate beside it, and the sources by key.

    Raises:
        KeyError: a point names a source the file does not list.
    """
    doc = tomllib.loads(path.read_text("utf-8"))
    sources: dict[str, dict[str, str]] = doc["sources"]
    gpus = load_catalog(None).gpus
    points = []
    for p in doc["points"]:
        if p["source"] not in sources:
            raise KeyError(f"{path.name}: unknown source {p['source']!r}")
        gpu = gpu_from_entry(find_gpu(p["gpu"], gpus))
        wl = Workload(method="inference", precision="fp16", batch=int(p["batch"]),
                      image_size=int(p["image"]))
        walk = dif.walk_unet(DIFFUSION[p["model"]].unet, int(p["image"]) // 8)
        t = unet_speed.unet_step_seconds(walk, wl, dtype_peaks(gpu), float(gpu.bandwidth_gb_s or 0))
        points.append(Point(gpu.name, p["model"], int(p["image"]), int(p["batch"]),
                            float(p["seconds"]), t, p["source"]))
    return points, sources


def table(points: list[Point], sources: dict[str, dict[str, str]]) -> str:
    """A Markdown table of the points and the list of their sources."""
    rows = ["| GPU | model | px | batch | published s/step | estimate | ratio | source |",
            "|---|---|---|---|---|---|---|---|"]
    rows += [f"| {p.gpu} | {p.model} | {p.image} | {p.batch} | {p.published:.4f} | "
             f"{p.estimate:.4f} | {p.ratio:.2f} | {p.source} |" for p in points]
    rows.append("")
    rows += [f"- {key}: {s['what']}. {s['url']}" for key, s in sources.items()]
    return "\n".join(rows)


def main() -> int:
    points, sources = load()
    print(table(points, sources))
    return 0


if __name__ == "__main__":
    sys.exit(main())
