"""``rigready detect``: what is in this PC, as a readable report or as the JSON profile."""

from __future__ import annotations

import argparse
from pathlib import Path

from rigready.assess.formfactor import form_factor_of
from rigready.assess.hardware import RigProfile
from rigready.assess.profile import profile_to_dict, save_profile
from rigready.assess.units import format_bytes, format_mhz, format_watts
from rigready.desktop.commands.common import add_profile_argument, load_rig, output_file, print_json


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``detect`` subcommand."""
    parser = subparsers.add_parser(
        "detect", help="detect CPU, GPUs, memory and storage",
        description="Detect this PC's hardware. Every fact says where it came from; what cannot "
        "be known is shown as unknown with a warning, never guessed.",
    )
    parser.add_argument("--json", action="store_true", help="print the rig profile as JSON")
    parser.add_argument("--save", metavar="FILE", type=output_file,
                        help="also save the profile to FILE (edit it and load it with --profile)")
    parser.add_argument("--force", action="store_true",
                        help="with --save: replace FILE if it exists")
    parser.add_argument("--check-torch", action="store_true",
                        help="import PyTorch to check that CUDA works (slow: a second or more)")
    add_profile_argument(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from rigready.catalog.userfiles import output_target

    if args.save is not None:  # refuse a bad --save before detecting, not after
        output_target(args.save, force=args.force, protect=(args.profile,))
    profile = load_rig(args)
    if args.save is not None:
        save_profile(profile, args.save, force=args.force, protect=(args.profile,))
    if args.json:
        print_json(profile_to_dict(profile))
    else:
        print(render_report(profile))
        if args.save is not None:
            print(f"\nSaved the profile to {args.save}")
    return 0


def print_report(profile_path: Path | None) -> int:
    """Detect (or load) and print the readable report; used when no window can open."""
    print(render_report(load_rig(argparse.Namespace(profile=profile_path))))
    return 0


def _line(label: str, value: str) -> str:
    return f"  {label:<18}{value}"


def _val(value: object, suffix: str = "") -> str:
    return "unknown" if value is None else f"{value}{suffix}"


def torch_summary(profile: RigProfile) -> str:
    """One line on PyTorch: version, the CUDA it was built for, and whether CUDA works."""
    system = profile.system
    if system.torch_version is None:
        return "not installed"
    built = f"built for CUDA {system.torch_cuda_version}" if system.torch_cuda_version else ""
    if system.torch_cuda_available is None:
        state = "CUDA availability not checked (rigready detect --check-torch)"
    else:
        state = "CUDA available" if system.torch_cuda_available else "CUDA not available"
    return f"{system.torch_version} ({', '.join(part for part in (built, state) if part)})"


def render_report(profile: RigProfile) -> str:
    """The profile as plain text, one block per component, units a person reads."""
    cpu, mem, system = profile.cpu, profile.memory, profile.system
    where = "this PC" if profile.origin == "detected" else profile.origin
    out: list[str] = [f"rigready report ({where})"]
    form = form_factor_of(profile)  # what score and plan use, inferred when the file says unknown
    out.append("\nMachine")
    out.append(_line("Form factor", form.kind + (" (small case)" if form.compact else "")))
    out.extend(_line("  because", e) for e in form.evidence)
    tb = {True: "yes (an external GPU can be attached)", False: "no",
          None: "unknown (no Thunderbolt driver loaded)"}[form.thunderbolt]
    out.append(_line("Thunderbolt/USB4", tb))
    out.append("\nCPU")
    out.append(_line("Model", _val(cpu.model)))
    cores = f"{_val(cpu.physical_cores)} physical, {_val(cpu.logical_cores)} logical"
    out.append(_line("Cores", cores))
    clock = f"base {format_mhz(cpu.base_clock_mhz)}, max {format_mhz(cpu.max_clock_mhz)}"
    out.append(_line("Clock", clock))
    out.append(_line("L3 cache", format_bytes(cpu.l3_cache_bytes)))
    out.append(_line("AI instructions", ", ".join(cpu.flags) if cpu.flags else "none found"))
    peak = cpu.peak_fp32_gflops
    out.append(_line("FP32 peak", "unknown" if peak is None else
                     f"{peak:,.0f} GFLOP/s ({cpu.fp32_flops_per_cycle} FLOP/cycle/core)"))

    out.append("\nMemory")
    total = f"{format_bytes(mem.total_bytes)} ({format_bytes(mem.available_bytes)} available)"
    out.append(_line("Total", total))
    kind = _val(mem.type)
    if mem.speed_mts:
        kind += f" at {mem.speed_mts} MT/s"
    out.append(_line("Type", kind))
    out.append(_line("Slots", f"{_val(mem.slots_used)} of {_val(mem.slots_total)} used"))
    out.append(_line("Maximum", format_bytes(mem.max_capacity_bytes)))
    out.append(_line("Soldered", {None: "unknown", True: "yes", False: "no"}[mem.soldered]))

    out.append(f"\nGPUs ({len(profile.gpus)})")
    if not profile.gpus:
        out.append("  none found (see warnings)")
    for gpu in profile.gpus:
        shared = "  (integrated, shares system memory)" if gpu.integrated else ""
        out.append(f"  [{gpu.index}] {gpu.name}{shared}")
        out.append(_line("  VRAM", format_bytes(gpu.vram_bytes)))
        if gpu.vendor == "nvidia":
            versions = f"{_val(gpu.driver_version)} / {_val(gpu.cuda_driver_version)}"
            out.append(_line("  Driver / CUDA", versions))
            out.append(_line("  Compute cap.", _val(gpu.compute_capability)))
            out.append(_line("  CUDA cores", _val(gpu.cuda_cores)))
        out.append(_line("  Power limit", format_watts(gpu.power_limit_w)))
        out.append(_line("  PCIe", f"gen {_val(gpu.pcie_gen_max)} x{_val(gpu.pcie_width_max)} max, "
                         f"gen {_val(gpu.pcie_gen_current)} x{_val(gpu.pcie_width_current)} now"))

    out.append(f"\nStorage ({len(profile.storage)})")
    for disk in profile.storage:
        link = f", PCIe gen {disk.pcie_gen} x{disk.pcie_width}" if disk.pcie_gen else ""
        size = format_bytes(disk.total_bytes)
        out.append(f"  {disk.name}: {_val(disk.model)}, {size}, {disk.kind}{link}")
        if disk.mount_points:
            out.append(_line("  Mounted at", ", ".join(disk.mount_points) +
                             f" ({format_bytes(disk.free_bytes)} free)"))

    out.append("\nSoftware")
    out.append(_line("OS", f"{_val(system.os)} (kernel {_val(system.kernel)})"))
    out.append(_line("Python", _val(system.python)))
    out.append(_line("PyTorch", torch_summary(profile)))

    if profile.warnings:
        out.append(f"\nWarnings ({len(profile.warnings)})")
        out.extend(f"  ! {w}" for w in profile.warnings)
    return "\n".join(out)
