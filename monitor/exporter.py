"""Prometheus ``/metrics`` with dcgm-exporter's metric names, units and labels.

Existing DCGM Grafana dashboards work unchanged: metric names are DCGM field names
(``DCGM_FI_DEV_GPU_UTIL`` ...), units follow dcgm-exporter's help texts (%, °C, W, mJ, MHz, MiB)
and every series carries ``gpu``, ``UUID``, ``pci_bus_id``, ``device``, ``modelName`` and
``Hostname``. A metric is left out for a GPU whose value is unknown, rather than exported as 0.
Host metrics use the ``rigready_host_`` prefix; a followed training run (``rigready run``,
``rigready monitor --watch``) adds ``rigready_run_*`` metrics (step, total, loss, ETA seconds,
throughput...) labelled ``run`` (its label, else its session id) and ``Hostname``. The
exporter has its own :class:`~prometheus_client.CollectorRegistry` and binds to 127.0.0.1
unless told otherwise; it answers only ``/metrics``, from
:class:`~monitor.metrics_server.MetricsServer` (one selector thread, a fixed pool of workers,
idle connections closed), not one thread per connection.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric

from rigready.gpu.throttle import encode_clock_events
from rigready.monitor.metrics_server import MetricsServer
from rigready.monitor.sample import GpuSample, Sample
from rigready.monitor.training.tracker import RunSnapshot

MIB = 1024 * 1024
LABELS: tuple[str, ...] = ("gpu", "UUID", "pci_bus_id", "device", "modelName", "Hostname")


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str
    #: "gauge", or "unknown" (untyped) for the energy counter: prometheus-client would rename a
    #: counter's family to ``..._total``, and the sample name must stay dcgm-exporter's.
    kind: str
    help: str
    value: Callable[[GpuSample], float | None]


def _fb_free(g: GpuSample) -> float | None:
    if g.memory_used_bytes is None or g.memory_total_bytes is None:
        return None
    return (g.memory_total_bytes - g.memory_used_bytes) / MIB


def _mib(value: int | None) -> float | None:
    return None if value is None else value / MIB


def _reasons(g: GpuSample) -> float | None:
    return None if g.throttle_reasons is None else float(encode_clock_events(g.throttle_reasons))


GPU_METRICS: tuple[_Spec, ...] = (
    _Spec("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %).", lambda g: g.utilization_pct),
    _Spec("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %).",
          lambda g: g.memory_utilization_pct),
    _Spec("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C).", lambda g: g.temperature_c),
    _Spec("DCGM_FI_DEV_SLOWDOWN_TEMP", "gauge", "Slowdown temperature threshold (in C).",
          lambda g: g.temp_slowdown_c),
    _Spec("DCGM_FI_DEV_SHUTDOWN_TEMP", "gauge", "Shutdown temperature threshold (in C).",
          lambda g: g.temp_shutdown_c),
    _Spec("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).", lambda g: g.power_w),
    _Spec("DCGM_FI_DEV_POWER_MGMT_LIMIT", "gauge", "Power management limit (in W).",
          lambda g: g.power_limit_w),
    _Spec("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "unknown",
          "Total energy consumption since boot (in mJ).",
          lambda g: None if g.energy_j is None else g.energy_j * 1000.0),
    _Spec("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz).",
          lambda g: g.sm_clock_mhz),
    _Spec("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz).",
          lambda g: g.memory_clock_mhz),
    _Spec("DCGM_FI_DEV_MAX_SM_CLOCK", "gauge", "Maximum SM clock frequency (in MHz).",
          lambda g: g.sm_clock_max_mhz),
    _Spec("DCGM_FI_DEV_MAX_MEM_CLOCK", "gauge", "Maximum memory clock frequency (in MHz).",
          lambda g: g.memory_clock_max_mhz),
    _Spec("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).",
          lambda g: _mib(g.memory_used_bytes)),
    _Spec("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).", _fb_free),
    _Spec("DCGM_FI_DEV_FB_TOTAL", "gauge", "Framebuffer memory total (in MiB).",
          lambda g: _mib(g.memory_total_bytes)),
    _Spec("DCGM_FI_DEV_FAN_SPEED", "gauge", "Fan speed (in %).", lambda g: g.fan_pct),
    _Spec("DCGM_FI_DEV_PSTATE", "gauge", "Performance state (0 = maximum).",
          lambda g: None if g.pstate is None else float(g.pstate)),
    _Spec("DCGM_FI_DEV_CLOCK_THROTTLE_REASONS", "gauge",
          "Current clock throttle reasons (bitmask of NVML clock-event reasons).", _reasons),
    _Spec("DCGM_FI_DEV_CLOCKS_EVENT_REASONS", "gauge",
          "Current clock event reasons (bitmask; newer name of CLOCK_THROTTLE_REASONS).",
          _reasons),
)

HOST_METRICS: tuple[tuple[str, str, str], ...] = (
    ("rigready_host_cpu_percent", "Host CPU utilisation (in %).", "cpu_pct"),
    ("rigready_host_memory_used_bytes", "Host RAM in use (in bytes).", "ram_used_bytes"),
    ("rigready_host_memory_total_bytes", "Host RAM installed (in bytes).", "ram_total_bytes"),
    ("rigready_host_swap_used_bytes", "Swap in use (in bytes).", "swap_used_bytes"),
    ("rigready_host_disk_read_bytes_per_second", "Disk reads (in bytes/s).",
     "disk_read_bytes_s"),
    ("rigready_host_disk_write_bytes_per_second", "Disk writes (in bytes/s).",
     "disk_write_bytes_s"),
)


#: (name, help, value of a run snapshot) of the run metrics.
RUN_METRICS: tuple[tuple[str, str, Callable[[RunSnapshot], float | None]], ...] = (
    ("rigready_run_step", "Steps the training run has done.",
     lambda r: None if r.step is None else float(r.step)),
    ("rigready_run_total_steps", "Steps of the whole run (when known).",
     lambda r: None if r.total is None else float(r.total)),
    ("rigready_run_progress_ratio", "Share of the run done (0-1).", lambda r: r.fraction),
    ("rigready_run_loss", "Latest training loss logged; NaN once it went non-finite (a loss "
     "the Trainer's NaN filter logs as 0 included).", lambda r: r.loss),
    ("rigready_run_last_finite_loss", "Last finite training loss logged.",
     lambda r: r.loss_truth.last_finite),
    ("rigready_run_eval_loss", "Latest evaluation loss logged.", lambda r: r.eval_loss),
    ("rigready_run_learning_rate", "Latest learning rate logged.", lambda r: r.learning_rate),
    ("rigready_run_grad_norm", "Latest gradient norm logged.", lambda r: r.grad_norm),
    ("rigready_run_eta_seconds", "Seconds until the run ends (smoothed measured rate).",
     lambda r: r.eta_s),
    ("rigready_run_steps_per_second", "Steps per second (the progress bar's rate).",
     lambda r: r.rate),
    ("rigready_run_elapsed_seconds", "Seconds since the run started.", lambda r: r.elapsed_s),
    ("rigready_run_process_vram_bytes", "VRAM held by the run's own processes (in bytes).",
     lambda r: None if r.process_vram_bytes is None else float(r.process_vram_bytes)),
    ("rigready_run_process_vram_peak_bytes", "Peak VRAM of the run's processes (in bytes).",
     lambda r: None if r.process_vram_peak_bytes is None
     else float(r.process_vram_peak_bytes)),
    ("rigready_run_running", "1 while the run's process lives, 0 once it ended.",
     lambda r: 1.0 if r.outcome == "running" else 0.0),
)
RUN_THROUGHPUT = "rigready_run_throughput"


def run_label(run: RunSnapshot) -> str:
    """The ``run`` label: the run's label, else ``session N``, else its start time."""
    if run.info.label:
        return run.info.label
    if run.info.session_id is not None:
        return f"session {run.info.session_id}"
    return f"run {int(run.info.started)}"


def run_families(run: RunSnapshot, hostname: str) -> Iterator[Metric]:
    """The ``rigready_run_*`` metric families of one run snapshot (unknown values left out)."""
    labels = ["run", "Hostname"]
    values = [run_label(run), hostname]
    for name, help_text, value_of in RUN_METRICS:
        value = value_of(run)
        if value is None:
            continue
        family = GaugeMetricFamily(name, help_text, labels=labels)
        family.add_metric(values, float(value))
        yield family
    if run.throughput is not None:
        family = GaugeMetricFamily(RUN_THROUGHPUT, "The run's throughput in the unit it reports "
                                   "(tokens/s, samples/s or it/s: see the unit label).",
                                   labels=[*labels, "unit"])
        family.add_metric([*values, run.throughput_unit or ""], float(run.throughput))
        yield family


def gpu_labels(gpu: GpuSample, hostname: str) -> dict[str, str]:
    """The dcgm-exporter label set of one GPU."""
    return {"gpu": str(gpu.index), "UUID": gpu.uuid or "", "pci_bus_id": gpu.pci_bus_id or "",
            "device": f"nvidia{gpu.index}", "modelName": gpu.name, "Hostname": hostname}


class SampleCollector:
    """A prometheus-client collector that renders the newest sample on every scrape."""

    def __init__(self, hostname: str | None = None) -> None:
        """Create it; ``hostname`` defaults to this machine's."""
        self.hostname = hostname or socket.gethostname()
        self._lock = threading.Lock()
        self._sample: Sample | None = None
        self._run: RunSnapshot | None = None

    def update(self, sample: Sample) -> None:
        """Publish a new sample (call from the sampler's ``on_sample``)."""
        with self._lock:
            self._sample = sample

    def update_run(self, run: RunSnapshot | None) -> None:
        """Publish a training run's newest snapshot (None: no run)."""
        with self._lock:
            self._run = run

    def describe(self) -> list[Metric]:
        """No fixed description: series appear with the GPUs."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Metric families for the current sample."""
        with self._lock:
            sample, run = self._sample, self._run
        if run is not None:
            yield from run_families(run, self.hostname)
        if sample is None:
            return
        for spec in GPU_METRICS:
            family = Metric(spec.name, spec.help, spec.kind)
            for gpu in sample.gpus:
                value = spec.value(gpu)
                if value is not None:
                    family.add_sample(spec.name, gpu_labels(gpu, self.hostname), float(value))
            if family.samples:
                yield family
        for name, help_text, field in HOST_METRICS:
            value = getattr(sample.host, field)
            if value is not None:
                host = GaugeMetricFamily(name, help_text, labels=["Hostname"])
                host.add_metric([self.hostname], float(value))
                yield host


class Exporter:
    """An HTTP ``/metrics`` endpoint fed with samples."""

    def __init__(self, hostname: str | None = None) -> None:
        """Create the registry and collector (nothing listens until :meth:`serve`)."""
        self.registry = CollectorRegistry(auto_describe=False)
        self.collector = SampleCollector(hostname)
        self.registry.register(self.collector)
        self._server: MetricsServer | None = None
        self.port: int | None = None

    def update(self, sample: Sample) -> None:
        """Publish a new sample."""
        self.collector.update(sample)

    def update_run(self, run: RunSnapshot | None) -> None:
        """Publish a training run's newest snapshot."""
        self.collector.update_run(run)

    def serve(self, host: str = "127.0.0.1", port: int = 9400) -> int:
        """Start serving on ``host:port`` (port 0 picks a free one); returns the bound port.

        Raises:
            OSError: The address is in use or cannot be bound.
        """
        server = MetricsServer(self.registry, host, port)
        server.start()
        self._server = server
        self.port = server.port
        return self.port

    def close(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.close()
            self._server = None


def parse_host_port(text: str) -> tuple[str, int]:
    """``"127.0.0.1:9400"``, ``":9400"`` or ``"9400"`` -> (host, port); host defaults to
    127.0.0.1. ``[::1]:9400`` for IPv6.

    Raises:
        ValueError: Not a host and a port 0-65535.
    """
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = "", text
    host = host.strip("[]") or "127.0.0.1"
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"{text!r} is not HOST:PORT") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} is out of range 0-65535")
    return host, port
