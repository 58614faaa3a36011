"""Every service serves its OpenTelemetry metrics at /metrics in Prometheus' text format."""

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from dropline_infra.observability import get_meter
from dropline_infra.runtime import Service
from dropline_infra.settings import ServiceSettings


def samples(text: str, name: str) -> dict[frozenset, float]:
    return {frozenset((k, v) for k, v in s.labels.items() if not k.startswith("otel_")): s.value
            for family in text_string_to_metric_families(text) for s in family.samples if s.name == name}


async def test_instruments_recorded_anywhere_in_the_process_are_served_at_metrics(tmp_path: Path):
    svc = Service(ServiceSettings(data_dir=tmp_path), migrations=tmp_path, title="metrics test")
    meter = get_meter("dropline.test")
    counter = meter.create_counter("dropline.test.widgets", description="Widgets seen, by colour.")
    gauge = meter.create_gauge("dropline.test.queue_depth", description="Items waiting.")
    counter.add(2, {"colour": "red"})
    counter.add(1, {"colour": "blue"})
    counter.add(1, {"colour": "red"})
    gauge.set(7)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.app), base_url="http://svc") as http:
        r = await http.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=")
    assert samples(r.text, "dropline_test_widgets_total") == {
        frozenset({("colour", "red")}): 3.0, frozenset({("colour", "blue")}): 1.0}
    assert samples(r.text, "dropline_test_queue_depth") == {frozenset(): 7.0}
    assert "/metrics" not in (svc.app.openapi().get("paths") or {})  # operators', not part of the API
