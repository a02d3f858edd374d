from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from rigready.monitor.exporter import Exporter, gpu_labels, parse_host_port
from rigready.monitor.sample import GpuSample, HostSample, Sample

MIB = 1024 * 1024
H100 = GpuSample(index=0, name="NVIDIA H100 80GB HBM3", uuid="GPU-af89", pci_bus_id="0:06.0",
                 utilization_pct=100.0, memory_utilization_pct=69.0,
                 memory_used_bytes=21_000 * MIB, memory_total_bytes=81_559 * MIB,
                 temperature_c=64.0, temp_slowdown_c=89.0, power_w=667.5, power_limit_w=700.0,
                 energy_j=16_771.968, sm_clock_mhz=1965.0, memory_clock_mhz=2619.0,
                 pstate=0, throttle_reasons=("sw_power_cap",))
BLANK = GpuSample(index=1, name="Mystery GPU")  # nothing readable


@pytest.fixture
def exporter() -> Iterator[Exporter]:
    exp = Exporter(hostname="rig1")
    yield exp
    exp.close()


def scrape(port: int) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def test_scrape_uses_dcgm_names_units_and_labels(exporter: Exporter) -> None:
    exporter.update(Sample(time=1.0, host=HostSample(cpu_pct=7.5), gpus=(H100, BLANK)))
    port = exporter.serve("127.0.0.1", 0)
    metrics = scrape(port)
    labels, util = metrics["DCGM_FI_DEV_GPU_UTIL"][0]
    assert util == 100.0
    assert labels == {"gpu": "0", "UUID": "GPU-af89", "pci_bus_id": "0:06.0",
                      "device": "nvidia0", "modelName": "NVIDIA H100 80GB HBM3",
                      "Hostname": "rig1"}
    value = {name: rows[0][1] for name, rows in metrics.items()}
    assert value["DCGM_FI_DEV_FB_USED"] == 21_000  # MiB
    assert value["DCGM_FI_DEV_FB_FREE"] == 81_559 - 21_000
    assert value["DCGM_FI_DEV_POWER_USAGE"] == 667.5  # W
    assert value["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"] == pytest.approx(16_771_968)  # mJ
    assert value["DCGM_FI_DEV_GPU_TEMP"] == 64.0
    assert value["DCGM_FI_DEV_MEM_COPY_UTIL"] == 69.0
    assert value["DCGM_FI_DEV_SM_CLOCK"] == 1965.0
    assert value["DCGM_FI_DEV_MEM_CLOCK"] == 2619.0
    assert value["DCGM_FI_DEV_CLOCK_THROTTLE_REASONS"] == 4.0  # sw_power_cap bit
    assert value["rigready_host_cpu_percent"] == 7.5
    # The unreadable GPU exports no made-up zeros, and nothing leaks into the global registry.
    assert all(labels["gpu"] == "0" for rows in metrics.values()
               for labels, _ in rows if "gpu" in labels)
    assert "DCGM_FI_DEV_FAN_SPEED" not in metrics
    assert REGISTRY.get_sample_value("DCGM_FI_DEV_GPU_UTIL", gpu_labels(H100, "rig1")) is None


def test_each_scrape_shows_the_latest_sample(exporter: Exporter) -> None:
    port = exporter.serve("127.0.0.1", 0)
    assert "DCGM_FI_DEV_GPU_UTIL" not in scrape(port)  # before the first sample
    exporter.update(Sample(time=1.0, host=HostSample(), gpus=(H100,)))
    exporter.update(Sample(time=2.0, host=HostSample(),
                           gpus=(GpuSample(index=0, name="X", utilization_pct=12.0),)))
    assert scrape(port)["DCGM_FI_DEV_GPU_UTIL"][0][1] == 12.0


def test_text_format_has_exact_metric_names(exporter: Exporter) -> None:
    exporter.update(Sample(time=1.0, host=HostSample(), gpus=(H100,)))
    port = exporter.serve("127.0.0.1", 0)
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    assert re.search(r"^DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION\{", text, re.M)
    assert "# TYPE DCGM_FI_DEV_GPU_UTIL gauge" in text


def test_default_bind_is_loopback(exporter: Exporter) -> None:
    exporter.serve(port=0)
    assert exporter._server is not None
    assert exporter._server.address[0] == "127.0.0.1"


def test_parse_host_port() -> None:
    assert parse_host_port("9400") == ("127.0.0.1", 9400)
    assert parse_host_port(":9400") == ("127.0.0.1", 9400)
    assert parse_host_port("0.0.0.0:9500") == ("0.0.0.0", 9500)
    assert parse_host_port("[::1]:9400") == ("::1", 9400)
    for bad in ("host:", "host:port", "1:70000"):
        with pytest.raises(ValueError):
            parse_host_port(bad)


def _raw(port: int, request: bytes) -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(("request_bytes", "status"), [
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"404"),
    (b"GET /x HTTP/1.1\r\n\r\n", b"404"),
    (b"GET /../../etc/passwd HTTP/1.1\r\n\r\n", b"404"),
    (b"GET /metrics/../etc HTTP/1.1\r\n\r\n", b"404"),
    (b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", b"405"),
    (b"garbage\r\n\r\n", b"400"),
    (b"GET /metrics HTTP/1.1\r\n" + b"X: y\r\n" * 5000 + b"\r\n", b"431"),
    (b"GET /metrics?x=1 HTTP/1.1\r\n\r\n", b"200"),
    (b"HEAD /metrics HTTP/1.0\r\n\r\n", b"200"),
])
def test_only_metrics_is_served(exporter: Exporter, request_bytes: bytes, status: bytes) -> None:
    exporter.update(Sample(time=1.0, host=HostSample(), gpus=(H100,)))
    port = exporter.serve("127.0.0.1", 0)
    try:
        answer = _raw(port, request_bytes)
    except ConnectionResetError:  # refused while the client was still sending 30 KiB
        assert status == b"431"
        return
    assert answer.split(b" ", 2)[1] == status, answer[:200]
    if status != b"200":
        assert b"DCGM_FI" not in answer
    elif request_bytes.startswith(b"HEAD"):
        assert answer.endswith(b"\r\n\r\n")


def test_idle_connections_neither_slow_a_scrape_nor_stay_open(exporter: Exporter) -> None:
    import socket
    import time

    exporter.update(Sample(time=1.0, host=HostSample(), gpus=(H100,)))
    port = exporter.serve("127.0.0.1", 0)
    assert exporter._server is not None
    exporter._server.idle_timeout_s = 3.0
    idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(200)]
    for conn in idle[:100]:
        conn.sendall(b"GET /metrics HTTP/1.1\r\n")  # half a request, then nothing (slowloris)
    started = time.monotonic()
    assert "DCGM_FI_DEV_GPU_UTIL" in scrape(port)
    # answered while every idle connection is still open: a server that served connections in
    # turn would wait out the 3 s idle timeout first (a tighter bound failed on a loaded CI box)
    assert time.monotonic() - started < 2.0
    assert exporter._server.open_connections > 0
    assert threading_count() < 20  # a fixed pool, not a thread per connection
    deadline = time.monotonic() + 15
    while exporter._server.open_connections and time.monotonic() < deadline:
        time.sleep(0.1)
    assert exporter._server.open_connections == 0  # the idle ones were closed
    assert idle[0].recv(10) == b""  # closed by the server
    for conn in idle:
        conn.close()


def threading_count() -> int:
    import threading

    return threading.active_count()
